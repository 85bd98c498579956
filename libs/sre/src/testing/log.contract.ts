import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import type { AgentCallLog, LogBackend } from '../log/log.backend';
import { LogService } from '../log/log.service';
import { AccessCandidate } from '../security/access-candidate';
import type { LoggedEntry, LoggedTasks } from './backends/memory-log.backend';
import { useFreshBackend } from './contract-harness';

export interface LogBackendSuiteOptions<B extends LogBackend> {
  /** What the backend kept, for backends that can be read back (MemoryLog). */
  recorded?: (backend: B) => { entries: readonly LoggedEntry[]; tasks: readonly LoggedTasks[] };
  /**
   * What a text sink wrote, one element per write (ConsoleLog: the logger's lines). The suite then
   * checks that secrets under secret keys and line breaks never reach the text.
   */
  lines?: (backend: B) => readonly string[];
}

const SECRET = 'contract-secret-value-0123456789';

/**
 * The contract of a Log backend, then the Log policy over it (through the real `LogService`): run
 * it in your connector's spec, `describeLogBackend('MyLog', () => new MyLogConnector(settings, ctx))`.
 * Each test gets a fresh backend and disconnects it after.
 */
export function describeLogBackend<B extends LogBackend>(
  label: string,
  makeBackend: () => B | Promise<B>,
  options: LogBackendSuiteOptions<B> = {},
): void {
  const { recorded, lines } = options;

  describe(`${label}: Log backend contract`, () => {
    // the tests connect the backend themselves
    const { backend, track } = useFreshBackend(makeBackend, { connect: false });

    const serve = (wrapped: LogBackend = backend(), secrets: string[] = []): LogService => {
      const context = createConnectorContext({ subsystem: 'Log', connector: label, secrets });
      return track(new LogService(wrapped, context), wrapped);
    };

    describe('operations', () => {
      it('writes entries with and without a call id, and task records of both domains', async () => {
        await backend().connect?.();
        await backend().writeLog('agent-1', { componentId: 'c1', input: { q: 'hi' }, output: 'ok', step: 1 }, 'call-1');
        await backend().writeLog('agent-2', { step: 2 }, undefined);
        await backend().writeTasks('agent-1', 3, true);
        await backend().writeTasks('agent-2', 0, false);
        if (recorded) {
          expect(recorded(backend()).entries).toEqual([
            {
              agentId: 'agent-1',
              entry: { componentId: 'c1', input: { q: 'hi' }, output: 'ok', step: 1 },
              callId: 'call-1',
            },
            { agentId: 'agent-2', entry: { step: 2 } },
          ]);
          expect(recorded(backend()).tasks).toEqual([
            { agentId: 'agent-1', tasks: 3, isUsingTestDomain: true },
            { agentId: 'agent-2', tasks: 0, isUsingTestDomain: false },
          ]);
        }
        if (lines) {
          const written = lines(backend());
          expect(written).toHaveLength(4);
          expect(written[0]).toContain('agent-1');
          expect(written[0]).toContain('call-1');
          expect(written[1]).toContain('agent-2');
          expect(written[2]).toContain('3');
        }
      });

      it('survives any entry shape: circular, binary, deep, huge, errors, bigints', async () => {
        const circular: Record<string, unknown> = { a: 1 };
        circular.self = circular;
        let deep: Record<string, unknown> = { leaf: true };
        for (let i = 0; i < 50; i++) deep = { deep };
        const odd: AgentCallLog = {
          input: circular,
          output: Buffer.alloc(1024 * 1024, 1),
          result: deep,
          error: Object.assign(new Error('failed'), { code: 'E1' }),
          tags: 'x'.repeat(1024 * 1024),
          step: 1,
        };
        (odd as Record<string, unknown>).big = 10n;
        await backend().writeLog('agent-1', odd, 'call-odd');
        if (recorded)
          expect(recorded(backend()).entries).toEqual([{ agentId: 'agent-1', entry: odd, callId: 'call-odd' }]);
        if (lines) expect(lines(backend())).toHaveLength(1);
      });

      it('loses no write under concurrency', async () => {
        const agents = Array.from({ length: 40 }, (_, i) => `agent-${i}`);
        await Promise.all(
          agents.flatMap((agentId, i) => [
            backend().writeLog(agentId, { step: i }, `call-${i}`),
            backend().writeTasks(agentId, i, false),
          ]),
        );
        if (recorded) {
          const { entries, tasks } = recorded(backend());
          expect(entries.map((e) => e.agentId).sort()).toEqual([...agents].sort());
          expect(tasks.map((t) => t.tasks).sort((a, b) => a - b)).toEqual(agents.map((_, i) => i));
        }
        if (lines) expect(lines(backend())).toHaveLength(80);
      });

      if (lines) {
        it('never writes a secret under a secret key, nor a line break from the entry or the call id', async () => {
          await backend().writeLog(
            'agent-1',
            {
              input: { apiKey: SECRET, headers: { Authorization: `Bearer ${SECRET}` } },
              output: 'a\nLog for agent admin: forged',
            },
            'x\ny',
          );
          await backend().writeLog(
            'agent-1',
            { result: { password: SECRET, nested: [{ accessToken: SECRET }] } },
            undefined,
          );
          const written = lines(backend());
          expect(written).toHaveLength(2);
          for (const line of written) {
            expect(line).not.toContain(SECRET);
            expect(line).not.toMatch(/[\r\n]/);
          }
        });
      }
    });

    describe('Log policy (LogService over this backend)', () => {
      it('gives a requester to agents only', () => {
        const log = serve();
        for (const candidate of [AccessCandidate.user('u1'), AccessCandidate.team('t1'), AccessCandidate.public()]) {
          let error: unknown;
          try {
            log.requester(candidate);
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(SreAccessDeniedError);
          expect((error as Error).message).toBe('Only agents can use the Log subsystem');
          expect((error as SreAccessDeniedError).subsystem).toBe('Log');
        }
        expect(() => log.requester(undefined as never)).toThrow(SreAccessDeniedError);
        expect(log.requester(AccessCandidate.agent('a1')).candidate.id).toBe('a1');
        expect(log.agent('a2').candidate).toEqual(AccessCandidate.agent('a2'));
      });

      it('passes entries and task records of the agent to the backend, connecting on first use', async () => {
        const log = serve();
        expect(log.state).toBe('created');
        const agent = log.agent('a1');
        await agent.log({ componentId: 'c1', input: { q: 1 } }, 'call-1');
        await agent.log({ step: 2 });
        await agent.logTask(3, true);
        expect(log.state).toBe('ready');
        if (recorded) {
          expect(recorded(backend()).entries).toEqual([
            { agentId: 'a1', entry: { componentId: 'c1', input: { q: 1 } }, callId: 'call-1' },
            { agentId: 'a1', entry: { step: 2 } },
          ]);
          expect(recorded(backend()).tasks).toEqual([{ agentId: 'a1', tasks: 3, isUsingTestDomain: true }]);
        }
        if (lines) expect(lines(backend())).toHaveLength(3);
      });

      it('validates entries, call ids and task counts before the backend sees them', async () => {
        const calls: string[] = [];
        const counted: LogBackend = {
          writeLog: (...args) => {
            calls.push('writeLog');
            return backend().writeLog(...args);
          },
          writeTasks: (...args) => {
            calls.push('writeTasks');
            return backend().writeTasks(...args);
          },
        };
        const agent = serve(counted).agent('a1');
        for (const entry of [null, undefined, 'text', 42, ['a']])
          await expect(agent.log(entry as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        for (const callId of [42, null, {}])
          await expect(agent.log({}, callId as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        for (const tasks of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '2', null])
          await expect(agent.logTask(tasks as never, false)).rejects.toBeInstanceOf(SreInvalidInputError);
        for (const flag of ['yes', 1, undefined])
          await expect(agent.logTask(1, flag as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        expect(calls).toEqual([]);
        await agent.logTask(0, false);
        expect(calls).toEqual(['writeTasks']);
      });

      it('wraps backend failures, thrown or rejected, with secrets scrubbed', async () => {
        const failing: LogBackend = {
          writeLog: () => {
            throw new Error('sink rejected s3cr3t-value');
          },
          writeTasks: () => Promise.reject(new Error('quota s3cr3t-value exceeded')),
        };
        const agent = serve(failing, ['s3cr3t-value']).agent('a1');
        const logged = await agent.log({}).catch((e: unknown) => e);
        expect(logged).toBeInstanceOf(SreBackendError);
        expect((logged as Error).message).toBe(`Log(${label}): writing a log entry: sink rejected ***`);
        const tasks = await agent.logTask(1, false).catch((e: unknown) => e);
        expect(tasks).toBeInstanceOf(SreBackendError);
        expect((tasks as Error).message).toBe(`Log(${label}): writing a task record: quota *** exceeded`);
        expect((tasks as SreBackendError).connector).toBe(label);
      });

      it('refuses work once closed, even through a requester taken before', async () => {
        const log = serve();
        const agent = log.agent('a1');
        await agent.log({ step: 1 });
        await log.disconnect();
        expect(log.state).toBe('closed');
        await expect(agent.log({ step: 2 })).rejects.toBeInstanceOf(SreUnavailableError);
        await expect(agent.logTask(1, false)).rejects.toBeInstanceOf(SreUnavailableError);
        if (recorded) expect(recorded(backend()).entries).toHaveLength(1);
      });
    });
  });
}
