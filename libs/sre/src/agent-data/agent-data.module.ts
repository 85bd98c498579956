import { DynamicModule, Module } from '@nestjs/common';
import { createSubsystemModule, SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/module-factory';
import { AGENT_DATA_DEFINITION } from './agent-data.registry';

const factory = createSubsystemModule(AGENT_DATA_DEFINITION);

/**
 * `AgentDataModule.forRoot({ connector, settings })` provides `AgentDataService` (or `getAgentDataToken(name)`
 * for a named instance). `connector` is a name registered in the registry or your own class extending
 * `AgentDataService`.
 */
@Module({})
export class AgentDataModule {
  static forRoot(options: SubsystemModuleOptions): DynamicModule {
    return factory.forRoot(AgentDataModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule {
    return factory.forRootAsync(AgentDataModule, options);
  }
}
