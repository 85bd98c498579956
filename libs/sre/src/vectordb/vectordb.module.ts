import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { VECTORDB_DEFINITION } from './vectordb.registry';

const factory = createSubsystemModule(VECTORDB_DEFINITION);

/**
 * `VectorDBModule.forRoot({ connector, settings })` provides `VectorDBService` (or `getVectorDBToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `VectorDBService`.
 */
@Module({})
export class VectorDBModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(VectorDBModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(VectorDBModule, options);
  }
}
