import { Logger, type LogLevel } from '@nestjs/common';
import { createConnectorContext } from '../../core/backend';
import { collectSecretValues, SecretSetting } from '../../core/secrets';
import { validateSettings } from '../../core/settings';
import { describeLogBackend } from '../../testing/log.contract';
import { LogService } from '../log.service';
import { ConsoleLogConnector, ConsoleLogSettings } from './console-log.connector';

/** A Nest logger that records instead of printing. */
class RecordingLogger extends Logger {
  readonly lines: Array<[string, unknown]> = [];

  override log(message: unknown): void {
    this.lines.push(['log', message]);
  }

  override debug(message: unknown): void {
    this.lines.push(['debug', message]);
  }

  override verbose(message: unknown): void {
    this.lines.push(['verbose', message]);
  }
}

function consoleLog(
  settings: object = {},
  secrets: string[] = [],
): { connector: LogService; backend: ConsoleLogConnector; logger: RecordingLogger } {
  const checked = validateSettings(ConsoleLogSettings, settings, 'Log(ConsoleLog).settings');
  expect(checked.problems).toEqual([]);
  const logger = new RecordingLogger();
  const context = createConnectorContext({ subsystem: 'Log', connector: 'ConsoleLog', logger, secrets });
  const backend = new ConsoleLogConnector(checked.settings, context);
  return { connector: new LogService(backend, context), backend, logger };
}

const loggers = new WeakMap<ConsoleLogConnector, RecordingLogger>();
describeLogBackend(
  'ConsoleLog',
  () => {
    const { backend, logger } = consoleLog();
    loggers.set(backend, logger);
    return backend;
  },
  { lines: (backend) => loggers.get(backend)!.lines.map(([, line]) => String(line)) },
);

describe('ConsoleLogConnector', () => {
  it('writes the original message formats at debug level by default', async () => {
    const { connector, logger } = consoleLog();
    const agent = connector.agent('agent-1');
    await agent.log({ componentId: 'c1', input: { q: 'hi' }, output: 'ok', step: 1 });
    await agent.logTask(2, true);
    await agent.logTask(1, false);
    expect(logger.lines).toEqual([
      ['debug', 'Log for agent agent-1: {"componentId":"c1","input":{"q":"hi"},"output":"ok","step":1}'],
      ['debug', '2 Task(s) Consumed by agent agent-1: Using Test Domain'],
      ['debug', '1 Task(s) Consumed by agent agent-1: Using Production Domain'],
    ]);
  });

  it('names the call when a call id is given, on one line', async () => {
    const { connector, logger } = consoleLog();
    await connector.agent('a1').log({ step: 1 }, 'call-42');
    await connector.agent('a1').log({ step: 2 }, 'x\nLog for agent admin: forged');
    expect(logger.lines[0][1]).toBe('Log for agent a1 (call call-42): {"step":1}');
    expect(logger.lines[1][1]).toBe('Log for agent a1 (call x\\nLog for agent admin: forged): {"step":2}');
  });

  it('honours the level setting', async () => {
    for (const level of ['verbose', 'log'] as const) {
      const { connector, logger } = consoleLog({ level });
      await connector.agent('a1').logTask(1, false);
      expect(logger.lines.map(([written]) => written)).toEqual([level]);
    }
  });

  it("skips a line the application's log levels drop, before redacting or serialising the entry", async () => {
    const { connector, logger } = consoleLog();
    let read = 0;
    const entry = {
      get input() {
        read++;
        return 'x';
      },
    };
    Logger.overrideLogger(['log', 'warn', 'error']);
    try {
      await connector.agent('a1').log(entry);
      await connector.agent('a1').logTask(1, false);
      expect([read, logger.lines]).toEqual([0, []]);
      Logger.overrideLogger(['debug', 'log', 'warn', 'error']);
      await connector.agent('a1').log(entry);
      expect([read > 0, logger.lines.length]).toEqual([true, 1]);
    } finally {
      Logger.overrideLogger(['verbose', 'debug', 'log', 'warn', 'error', 'fatal']);
    }
  });

  it('follows log levels changed in place, not only a new array', async () => {
    const { connector, logger } = consoleLog();
    const levels: LogLevel[] = ['log', 'warn', 'error'];
    Logger.overrideLogger(levels);
    try {
      await connector.agent('a1').logTask(1, false);
      levels.push('debug');
      await connector.agent('a1').logTask(2, false);
      levels.splice(levels.indexOf('debug'), 1, 'fatal');
      await connector.agent('a1').logTask(3, false);
      expect(logger.lines.map(([, line]) => String(line).split(' ')[0])).toEqual(['2']);
    } finally {
      Logger.overrideLogger(['verbose', 'debug', 'log', 'warn', 'error', 'fatal']);
    }
  });

  it('answers every call with a promise: a bad entry rejects, never throws', async () => {
    const { connector } = consoleLog();
    const agent = connector.agent('a1');
    let rejected: Promise<void> | undefined;
    expect(() => (rejected = agent.log(null as never))).not.toThrow();
    await expect(rejected).rejects.toThrow('a log entry must be an object');
    await expect(agent.log({ step: 1 }, 42 as never)).rejects.toThrow('callId must be a string');
    await expect(agent.log({ step: 1 })).resolves.toBeUndefined();
  });

  it('redacts entries before writing them (W49)', async () => {
    const { connector, logger } = consoleLog({ maxFieldLength: 32, redactKeys: ['ssn'] });
    await connector.agent('a1').log({
      input: { apiKey: 'sk-live-secret', prompt: 'my key is sk-abcdefghijklmnopqrstuvwx', SSN: '123-45-6789' },
      output: 'z'.repeat(100),
      error: new Error('401 Bearer eyJabc.def'),
    });
    const line = logger.lines[0][1] as string;
    expect(line).toBe(
      'Log for agent a1: {"input":{"apiKey":"***","prompt":"my key is ***","SSN":"***"},"output":"' +
        `${'z'.repeat(32)}…[truncated, 100 chars]","error":{"name":"Error","message":"401 Bearer ***"}}`,
    );
  });

  it("scrubs the connector's own secret settings from every line", async () => {
    class WithSecret {
      @SecretSetting()
      token = 'the-sink-password-123';
    }
    const secrets = collectSecretValues(new WithSecret());
    const { connector, logger } = consoleLog({}, secrets);
    await connector.agent('a1').log({ output: 'echo the-sink-password-123 back' }, 'the-sink-password-123');
    expect(logger.lines[0][1]).toBe('Log for agent a1 (call ***): {"output":"echo *** back"}');
  });

  it('survives circular entries', async () => {
    const { connector, logger } = consoleLog();
    const input: Record<string, unknown> = { a: 1 };
    input.self = input;
    await connector.agent('a1').log({ input });
    expect(logger.lines[0][1]).toBe('Log for agent a1: {"input":{"a":1,"self":"[Circular]"}}');
  });

  it('builds with the default settings and context when constructed directly', () => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    try {
      new ConsoleLogConnector().writeTasks('a1', 1, false);
      expect(debug).toHaveBeenCalledWith('1 Task(s) Consumed by agent a1: Using Production Domain');
    } finally {
      debug.mockRestore();
    }
  });

  it('validates its settings', () => {
    const defaults = validateSettings(ConsoleLogSettings, undefined, 's');
    expect(defaults.problems).toEqual([]);
    expect(defaults.settings).toMatchObject({ level: 'debug', maxFieldLength: 2048, redactKeys: [] });
    expect(validateSettings(ConsoleLogSettings, { level: 'warn' }, 's').problems).toEqual([
      expect.stringContaining('s.level'),
    ]);
    expect(validateSettings(ConsoleLogSettings, { maxFieldLength: 0 }, 's').problems).toEqual([
      expect.stringContaining('s.maxFieldLength'),
    ]);
    expect(validateSettings(ConsoleLogSettings, { redactKeys: [''] }, 's').problems).toEqual([
      expect.stringContaining('s.redactKeys'),
    ]);
    expect(validateSettings(ConsoleLogSettings, { colour: true }, 's').problems).toEqual(['s.colour: unknown setting']);
  });
});
