import type { ConnectorContext, MaybePromise } from '../core/backend';
import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { isPromise, SreService } from '../core/service';
import { AccessCandidate } from '../security/access-candidate';
import type { AgentCallLog, LogBackend } from './log.backend';

export type { AgentCallLog, LogBackend } from './log.backend';
export { LOG_OPERATIONS } from './log.backend';
export { LogRedactor, REDACTED, type LogRedactionOptions } from './log.redactor';

/** What every `log` answered at once resolves with, settled once. */
const DONE = Promise.resolve();
const WRITING_LOG = 'writing a log entry';

/** What an agent may ask the Log subsystem. */
export interface LogRequester {
  readonly candidate: AccessCandidate;
  /** Records one call; `callId` correlates the entries of one call. */
  log(entry: AgentCallLog, callId?: string): Promise<void>;
  /** Records that the agent consumed `tasks` tasks (a non-negative integer). */
  logTask(tasks: number, isUsingTestDomain: boolean): Promise<void>;
}

/**
 * Agent call logs: what you inject. Only agents log; entries, call ids and task counts are checked
 * here, once for every connector, and a connector failure comes back as an `SreBackendError` naming
 * it, secrets scrubbed. Redaction is the connector's: it knows what it writes where.
 */
export class LogService extends SreService<LogBackend> {
  constructor(backend: LogBackend, context?: ConnectorContext, _deps: object = {}) {
    super(backend, context);
  }

  /** Throws `SreAccessDeniedError` at once for anyone but an agent. */
  requester(candidate: AccessCandidate): LogRequester {
    if (candidate?.role !== 'agent')
      throw new SreAccessDeniedError(this.source(), 'Only agents can use the Log subsystem');
    const agentId = candidate.id;
    return {
      candidate,
      // not async, and no closure for `call`: a line the logger drops (the common case in
      // production) then costs about what an empty async function does
      log: (entry, callId) => {
        try {
          if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
            throw new SreInvalidInputError('a log entry must be an object', this.source());
          if (callId !== undefined && typeof callId !== 'string')
            throw new SreInvalidInputError('callId must be a string', this.source());
          const written = this.writeLog(agentId, entry, callId);
          return written === undefined ? DONE : written;
        } catch (error) {
          return Promise.reject(error as Error);
        }
      },
      logTask: async (tasks, isUsingTestDomain) => {
        if (!Number.isSafeInteger(tasks) || tasks < 0)
          throw new SreInvalidInputError('tasks must be a non-negative integer', this.source());
        if (typeof isUsingTestDomain !== 'boolean')
          throw new SreInvalidInputError('isUsingTestDomain must be a boolean', this.source());
        await this.call('writing a task record', () => this.backend.writeTasks(agentId, tasks, isUsingTestDomain));
      },
    };
  }

  /** `backend.writeLog` as `call` runs it, written out (see `log`); `undefined` when it answered at once. */
  private writeLog(agentId: string, entry: AgentCallLog, callId: string | undefined): Promise<void> | undefined {
    const pending = this.ensureReady();
    if (pending) return pending.then(() => this.writeLog(agentId, entry, callId));
    let written: MaybePromise<void>;
    try {
      written = this.backend.writeLog(agentId, entry, callId);
    } catch (error) {
      throw this.wrap(error, WRITING_LOG);
    }
    return isPromise(written)
      ? written.catch((error: unknown) => Promise.reject(this.wrap(error, WRITING_LOG)))
      : undefined;
  }

  agent(id: string): LogRequester {
    return this.requester(AccessCandidate.agent(id));
  }
}
