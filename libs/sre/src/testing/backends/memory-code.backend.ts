import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import type {
  CodeBackend,
  CodeConfig,
  CodeExecutionResult,
  CodeInput,
  CodePreparation,
  CodeScope,
} from '../../code/code.backend';
import { HostCodeBackend } from '../../code/connectors/code-deployments';

export interface MemoryCodeOptions {
  /** Time box of a run when its config names no `timeout` (default 1000 ms). */
  defaultTimeoutMs?: number;
  /** Longest run whatever the config asks (default 30 000 ms). */
  maxTimeoutMs?: number;
}

const MAIN = /\basync\s+function\s+main\s*\(/;

// Runs in a fresh worker per run: the inputs cross as JSON text (data, never source: W47) and console
// lines are collected. Terminating the worker stops infinite loops, promise-job loops and memory
// hogs alike, which a vm time limit on the main thread cannot do safely.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const logs = [];
const context = vm.createContext({ __json: workerData.json, __log: (line) => { logs.push(String(line)); } });
const runner = "globalThis.console = { log: (...a) => __log(a.map(String).join(' ')) };" +
  "console.info = console.warn = console.error = console.debug = console.log;" +
  "(async () => main(JSON.parse(__json)))()";
const started = performance.now();
const send = (message) => {
  try { parentPort.postMessage(message); } catch { parentPort.postMessage({ ...message, value: String(message.value) }); }
};
Promise.resolve()
  .then(() => vm.runInContext(workerData.code + '\\n;' + runner, context, { filename: 'main.js' }))
  .then(
    (value) => send({ ok: true, value, logs, executionTime: Math.round(performance.now() - started) }),
    (error) => send({ ok: false, message: String(error && error.message !== undefined ? error.message : error), logs }),
  );
`;

interface WorkerOutcome {
  ok: boolean;
  value?: unknown;
  message?: string;
  logs: string[];
  executionTime?: number;
}

/**
 * A Code backend in memory, for your tests: each run is `main(inputs)` in a `node:vm` context of a
 * fresh worker thread (inputs passed as JSON data, `console.*` captured into `logs`), stopped after
 * `config.timeout` seconds and held to `config.memoryLimit` MB of heap; outputs come back
 * structured-cloned (else as text). Deployments live in a map keyed by the whole scope. Not a
 * security boundary (node:vm is no sandbox): run only code you trust.
 */
export class MemoryCodeBackend extends HostCodeBackend implements CodeBackend {
  static readonly connectorName = 'MemoryCode';

  private readonly defaultTimeoutMs: number;
  private readonly maxTimeoutMs: number;

  constructor(options: MemoryCodeOptions = {}) {
    super();
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 1000;
    this.maxTimeoutMs = options.maxTimeoutMs ?? 30_000;
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  async prepareCode(_scope: CodeScope, input: CodeInput): Promise<CodePreparation> {
    try {
      new vm.Script(input.code, { filename: 'main.js' });
    } catch (error) {
      return { prepared: false, errors: [`Syntax error: ${(error as Error).message}`] };
    }
    return MAIN.test(input.code)
      ? { prepared: true }
      : { prepared: false, errors: ['No main function found at root level'] };
  }

  protected run(code: string, inputs: Record<string, unknown>, config: CodeConfig): Promise<CodeExecutionResult> {
    const timeout = Math.min(
      config.timeout === undefined ? this.defaultTimeoutMs : Math.ceil(config.timeout * 1000),
      this.maxTimeoutMs,
    );
    let json: string;
    try {
      json = JSON.stringify(inputs);
    } catch (error) {
      return Promise.reject(new Error(`inputs must be JSON data: ${(error as Error).message}`));
    }
    return new Promise<CodeExecutionResult>((resolve, reject) => {
      const worker = new Worker(WORKER, {
        eval: true,
        workerData: { code, json },
        env: {},
        stdout: true,
        stderr: true,
        ...(config.memoryLimit ? { resourceLimits: { maxOldGenerationSizeMb: config.memoryLimit } } : {}),
      });
      let outcome: WorkerOutcome | undefined;
      const timer = setTimeout(() => {
        settle(() => reject(new Error(`the run timed out after ${timeout} ms`)));
      }, timeout);
      const settle = (done: () => void) => {
        clearTimeout(timer);
        worker.removeAllListeners();
        // a worker still running (time limit) or idle (settled) is stopped either way
        void worker.terminate().catch(() => undefined);
        done();
      };
      worker.on('message', (message: WorkerOutcome) => {
        outcome = message;
        settle(() =>
          message.ok
            ? resolve({
                output: message.value,
                executionTime: message.executionTime ?? 0,
                success: true,
                ...(message.logs.length ? { logs: message.logs } : {}),
              })
            : reject(new Error(message.message)),
        );
      });
      worker.on('error', (error) => settle(() => reject(error)));
      worker.on('exit', () => {
        if (!outcome)
          settle(() => reject(new Error('main never settled (it awaits something that cannot happen here)')));
      });
    });
  }
}
