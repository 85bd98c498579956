// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const AGENT_DATA_TOKEN_PREFIX = 'SreAgentData';

/** Token of a named AgentData instance (`'SreAgentData:<name>'`); `default` aliases `AgentDataService`. */
export function getAgentDataToken(name = 'default'): string {
  return `${AGENT_DATA_TOKEN_PREFIX}:${name}`;
}

export function getAgentDataOptionsToken(name = 'default'): string {
  return `${AGENT_DATA_TOKEN_PREFIX}Options:${name}`;
}
