import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { LOG_DEFINITION } from './log.registry';

const factory = createSubsystemModule(LOG_DEFINITION);

/**
 * `LogModule.forRoot({ connector: 'ConsoleLog', settings: { level: 'log' } })` provides
 * `LogService` (or `getLogToken(name)` for a named instance).
 */
@Module({})
export class LogModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(LogModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(LogModule, options);
  }
}
