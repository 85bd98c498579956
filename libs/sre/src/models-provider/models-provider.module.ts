import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { MODELS_PROVIDER_DEFINITION } from './models-provider.registry';

const factory = createSubsystemModule(MODELS_PROVIDER_DEFINITION);

/**
 * `ModelsProviderModule.forRoot({ connector, settings })` provides `ModelsProviderService` (or `getModelsProviderToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `ModelsProviderService`.
 */
@Module({})
export class ModelsProviderModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(ModelsProviderModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(ModelsProviderModule, options);
  }
}
