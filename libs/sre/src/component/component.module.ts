import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { COMPONENT_DEFINITION } from './component.registry';

const factory = createSubsystemModule(COMPONENT_DEFINITION);

/**
 * `ComponentModule.forRoot({ connector, settings })` provides `ComponentService` (or `getComponentToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `ComponentService`.
 */
@Module({})
export class ComponentModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(ComponentModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(ComponentModule, options);
  }
}
