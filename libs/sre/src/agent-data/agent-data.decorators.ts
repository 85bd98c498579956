import { Inject } from '@nestjs/common';
import { AgentDataService } from './agent-data.service';
import { getAgentDataToken } from './agent-data.tokens';

/** Injects the default AgentData (`AgentDataService`) or the instance registered under `name`. */
export const InjectAgentData = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getAgentDataToken(name) : AgentDataService);
