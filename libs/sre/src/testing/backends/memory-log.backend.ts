import type { AgentCallLog, LogBackend } from '../../log/log.backend';

/** One `log` call as the service handed it over. */
export interface LoggedEntry {
  agentId: string;
  entry: AgentCallLog;
  callId?: string;
}

/** One `logTask` call. */
export interface LoggedTasks {
  agentId: string;
  tasks: number;
  isUsingTestDomain: boolean;
}

/**
 * A Log backend that keeps what it is asked to write, in call order, for your tests to read
 * (`new LogService(new MemoryLogBackend())`, then `backend.entries`). Entries are kept as given (by
 * reference, not redacted): this sink never leaves the process.
 */
export class MemoryLogBackend implements LogBackend {
  static readonly connectorName = 'MemoryLog';

  readonly entries: LoggedEntry[] = [];
  readonly tasks: LoggedTasks[] = [];

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  writeLog(agentId: string, entry: AgentCallLog, callId: string | undefined): void {
    this.entries.push(callId === undefined ? { agentId, entry } : { agentId, entry, callId });
  }

  writeTasks(agentId: string, tasks: number, isUsingTestDomain: boolean): void {
    this.tasks.push({ agentId, tasks, isUsingTestDomain });
  }

  /** Forgets everything written so far. */
  clear(): void {
    this.entries.length = 0;
    this.tasks.length = 0;
  }
}
