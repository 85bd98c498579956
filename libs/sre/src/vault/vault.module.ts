import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { VAULT_DEFINITION } from './vault.registry';

const factory = createSubsystemModule(VAULT_DEFINITION);

/**
 * `VaultModule.forRoot({ connector: 'JSONFileVault', settings: { file } })` provides `VaultService`
 * (or `getVaultToken(name)` for a named instance). Users and agents are scoped to their team
 * through `AccountService` when it is available (import AccountModule globally, or use SreModule).
 */
@Module({})
export class VaultModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(VaultModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(VaultModule, options);
  }
}
