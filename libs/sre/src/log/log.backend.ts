import type { MaybePromise, SreBackend } from '../core/backend';

/** One component call of an agent, as the runtime reports it. */
export interface AgentCallLog {
  sourceId?: string;
  componentId?: string;
  domain?: string;
  input?: unknown;
  output?: unknown;
  inputTimestamp?: string | number;
  outputTimestamp?: string | number;
  result?: unknown;
  error?: unknown;
  sessionID?: string;
  tags?: string;
  step?: number;
  workflowID?: string;
  processID?: string;
}

/**
 * What a Log connector implements: two plain writes for an agent the service has already checked,
 * with arguments it has validated. Entries arrive as the agent gave them: a connector that writes
 * them anywhere runs them through a `LogRedactor` first (agent inputs and outputs carry keys, tokens
 * and PII: W49), and must survive any shape (circular, binary, huge). A sink in memory may answer
 * synchronously.
 */
export interface LogBackend extends SreBackend {
  /** Writes one entry of agent `agentId`; `callId` correlates the entries of one call. */
  writeLog(agentId: string, entry: AgentCallLog, callId: string | undefined): MaybePromise<void>;
  /** Writes that agent `agentId` consumed `tasks` tasks (a non-negative integer). */
  writeTasks(agentId: string, tasks: number, isUsingTestDomain: boolean): MaybePromise<void>;
}

/** Every operation of `LogBackend` (a custom connector lacking one is refused at boot). */
export const LOG_OPERATIONS = ['writeLog', 'writeTasks'] as const;
