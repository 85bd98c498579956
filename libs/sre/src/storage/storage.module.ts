import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { STORAGE_DEFINITION } from './storage.registry';

const factory = createSubsystemModule(STORAGE_DEFINITION);

/**
 * `StorageModule.forRoot({ connector: 'LocalStorage', settings: { folder } })` provides
 * `StorageService` (or `getStorageToken(name)` for a named instance).
 */
@Module({})
export class StorageModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(StorageModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(StorageModule, options);
  }
}
