import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { NKV_DEFINITION } from './nkv.registry';

const factory = createSubsystemModule(NKV_DEFINITION);

/**
 * `NKVModule.forRoot({ connector, settings })` provides `NKVService` (or `getNKVToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `NKVService`.
 */
@Module({})
export class NKVModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(NKVModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(NKVModule, options);
  }
}
