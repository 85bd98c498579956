import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { ACCOUNT_DEFINITION } from './account.registry';

const factory = createSubsystemModule(ACCOUNT_DEFINITION);

/**
 * `AccountModule.forRoot({ connector: 'DummyAccount', settings: { data } })` provides
 * `AccountService` (or `getAccountToken(name)` for a named instance). Make it global (or import it
 * where needed) so that other subsystems resolve candidates' teams through it.
 */
@Module({})
export class AccountModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(AccountModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(AccountModule, options);
  }
}
