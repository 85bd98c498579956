import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { LLM_DEFINITION } from './llm.registry';

const factory = createSubsystemModule(LLM_DEFINITION);

/**
 * `LLMModule.forRoot({ connector, settings })` provides `LLMService` (or `getLLMToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `LLMService`.
 */
@Module({})
export class LLMModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(LLMModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(LLMModule, options);
  }
}
