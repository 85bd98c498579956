import type { MaybePromise, SreBackend } from '../core/backend';

/** One input of a component, as the agent file declares it. */
export interface AgentComponentInput {
  name: string;
  /** `string, number, integer, boolean, array, object, binary, any` */
  type?: string;
  description?: string;
  optional?: boolean;
  defaultVal?: unknown;
  [extra: string]: unknown;
}

export interface AgentComponent {
  id?: string;
  /** The component kind, e.g. `APIEndpoint`. */
  name: string;
  data?: Record<string, any>;
  inputs?: AgentComponentInput[];
  [extra: string]: unknown;
}

/** An agent definition (the content of a `.smyth` file). */
export interface AgentDefinition {
  id?: string;
  name?: string;
  version?: string;
  behavior?: string;
  shortDescription?: string;
  /** Deprecated; used when the other descriptions are missing. */
  description?: string;
  components?: AgentComponent[];
  settings?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface AgentDataRecord {
  data: AgentDefinition;
  version: string;
}

/**
 * What an AgentData connector implements: plain lookups of agent definitions and settings by ids
 * the service has validated. No access decision (the original has none: agent data is read by the
 * runtime, trusted server code); a missing agent is `undefined`, `{}`, `[]` or `false`, never an
 * exception. The service normalises answers and builds everything derived (OpenAPI, ephemeral data).
 */
export interface AgentDataBackend extends SreBackend {
  /** The deployed definition of `version` when given, else the development one; `undefined` when unknown. */
  getAgentData(agentId: string, version?: string): MaybePromise<AgentDataRecord | undefined>;
  /** The agent's settings; `{}` (or `undefined`) when it has none or is unknown. */
  getAgentSettings(agentId: string, version?: string): MaybePromise<Record<string, unknown> | undefined>;
  /** The agent serving `domain`, or `undefined`. */
  getAgentIdByDomain(domain: string): MaybePromise<string | undefined>;
  /** `[]` for an unknown agent. */
  getAgentEmbodiments(agentId: string): MaybePromise<unknown[]>;
  isDeployed(agentId: string): MaybePromise<boolean>;
  /** Summaries (`{ id, name, ... }`, with `data` when `includeData`); `[]` for an unknown team. */
  listTeamAgents(teamId: string, deployedOnly: boolean, includeData: boolean): MaybePromise<Record<string, unknown>[]>;
  /**
   * Configuration of a known agent (SmythFS reads `agentStageDomain`), or `undefined`. Synchronous:
   * it is read on paths that cannot wait, so a connector answers it from what it loaded at connect.
   */
  getAgentConfig(agentId: string): Record<string, unknown> | undefined;
}

/** Every operation of `AgentDataBackend` (a custom connector lacking one is refused at boot). */
export const AGENT_DATA_OPERATIONS = [
  'getAgentData',
  'getAgentSettings',
  'getAgentIdByDomain',
  'getAgentEmbodiments',
  'isDeployed',
  'listTeamAgents',
  'getAgentConfig',
] as const;
