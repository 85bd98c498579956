import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { CACHE_DEFINITION } from './cache.registry';

const factory = createSubsystemModule(CACHE_DEFINITION);

/**
 * `CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 50_000 } })` provides
 * `CacheService` (or `getCacheToken(name)` for a named instance).
 */
@Module({})
export class CacheModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(CacheModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(CacheModule, options);
  }
}
