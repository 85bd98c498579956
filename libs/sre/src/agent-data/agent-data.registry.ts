import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AgentDataService } from './agent-data.service';
import { getAgentDataOptionsToken, getAgentDataToken } from './agent-data.tokens';

/** AgentData connectors by name; add your own with `AGENT_DATA_CONNECTORS.register(name, cls)`. */
export const AGENT_DATA_CONNECTORS = new ConnectorRegistry<AgentDataService>('AgentData').plan(
  'Local',
  'CLI',
  'NullAgentData',
);

export const AGENT_DATA_DEFINITION: SubsystemDefinition = {
  subsystem: 'AgentData',
  service: AgentDataService,
  registry: AGENT_DATA_CONNECTORS,
  token: getAgentDataToken,
  optionsToken: getAgentDataOptionsToken,
};
