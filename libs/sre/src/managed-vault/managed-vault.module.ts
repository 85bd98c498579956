import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { MANAGED_VAULT_DEFINITION } from './managed-vault.registry';

const factory = createSubsystemModule(MANAGED_VAULT_DEFINITION);

/**
 * `ManagedVaultModule.forRoot({ connector, settings })` provides `ManagedVaultService` (or `getManagedVaultToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `ManagedVaultService`.
 */
@Module({})
export class ManagedVaultModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(ManagedVaultModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(ManagedVaultModule, options);
  }
}
