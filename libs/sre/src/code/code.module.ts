import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { CODE_DEFINITION } from './code.registry';

const factory = createSubsystemModule(CODE_DEFINITION);

/**
 * `CodeModule.forRoot({ connector, settings })` provides `CodeService` (or `getCodeToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `CodeService`.
 */
@Module({})
export class CodeModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(CodeModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(CodeModule, options);
  }
}
