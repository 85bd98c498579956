import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { ROUTER_DEFINITION } from './router.registry';

const factory = createSubsystemModule(ROUTER_DEFINITION);

/**
 * `RouterModule.forRoot({ connector, settings })` provides `RouterService` (or `getRouterToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `RouterService`.
 */
@Module({})
export class RouterModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(RouterModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(RouterModule, options);
  }
}
