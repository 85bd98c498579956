import { spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as vm from 'node:vm';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type {
  CodeBackend,
  CodeConfig,
  CodeExecutionResult,
  CodeInput,
  CodePreparation,
  CodeScope,
} from '../code.backend';
import { HostCodeBackend } from './code-deployments';
import { ECMA_SANDBOX_PRELUDE, ECMA_SANDBOX_RUNNER } from './ecma-sandbox.runner';

export class ECMASandboxSettings {
  /** Wall-clock limit of a run whose config names no `timeout`, in ms (default 5000). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  timeoutMs: number = 5000;

  /** Longest run whatever the config asks, in ms (default 60 000). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  maxTimeoutMs: number = 60_000;

  /** Heap limit of a run whose config names no `memoryLimit`, in MB (default 128). */
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(65_536)
  memoryLimitMB: number = 128;

  /** Largest heap limit a config may ask, in MB (default 1024). */
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(65_536)
  maxMemoryLimitMB: number = 1024;

  /** Runs at once; more wait their turn (default: the host's available parallelism). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1024)
  maxConcurrentRuns: number = os.availableParallelism();
}

/** A run that failed: thrown, so that the service answers it as a failed result naming the connector. */
class RunFailure extends Error {}

interface RunnerOutcome {
  ready?: boolean;
  ok?: boolean;
  output?: string;
  text?: string;
  message?: string;
  logs?: string[];
  executionTime?: number;
}

/** How long a child may take to start before its run is counted (node's own start-up). */
const STARTUP_MS = 15_000;
/** Bytes of a child's stderr kept to tell a heap overflow from another crash. */
const STDERR_BYTES = 8192;

/** Node's permission model flag: `--permission` from Node 22, `--experimental-permission` before. */
const PERMISSION = process.allowedNodeEnvironmentFlags.has('--permission')
  ? '--permission'
  : '--experimental-permission';

const ROOT_MAIN = /^(?:export\s+)?(?:(async)\s+)?function\s*\*?\s*main\s*\(/m;
const ASSIGNED_MAIN = /^(?:export\s+)?(?:(?:const|let|var)\s+)?main\s*=\s*(async\b)?/m;

/**
 * Code `ECMASandbox`: runs `main` in a separate Node process per run, on this host. The child has
 * an empty environment, Node's permission model (no file system, child processes or workers), a
 * heap limit (`--max-old-space-size`, from `config.memoryLimit` or `memoryLimitMB`) and is killed at
 * the wall-clock limit (`config.timeout` or `timeoutMs`), so a runaway loop or a memory bomb stops
 * that run only (W48). Inside, the code runs in a `node:vm` context without `require`, `process`,
 * `import()`, `Buffer`, typed arrays or any object of the host realm: `console.*` is captured into
 * `logs`, timers are provided, nothing else (no `fetch`, no network). `main`'s parameters are bound
 * by name from `inputs`, passed as JSON data (never source text: W47); a destructuring parameter
 * receives the whole inputs object. Deployments are kept in memory, keyed by the whole scope (W09).
 * `{{KEY(NAME)}}` secrets and `config.environment` are not supported (the code sees no environment).
 */
export class ECMASandboxConnector extends HostCodeBackend implements CodeBackend {
  static readonly connectorName = 'ECMASandbox';
  static readonly settingsClass = ECMASandboxSettings;

  private readonly settings: ECMASandboxSettings;
  private readonly children = new Set<ChildProcess>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;

  constructor(
    settings: Partial<ECMASandboxSettings> = {},
    readonly context: ConnectorContext = createConnectorContext({ subsystem: 'Code', connector: 'ECMASandbox' }),
  ) {
    super();
    this.settings = Object.assign(new ECMASandboxSettings(), settings);
  }

  async connect(): Promise<void> {}

  /** Kills every run still going. */
  async disconnect(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
  }

  async prepareCode(_scope: CodeScope, input: CodeInput): Promise<CodePreparation> {
    try {
      new vm.Script(input.code, { filename: 'main.js' });
    } catch (error) {
      return { prepared: false, errors: [`Failed to parse code: ${(error as Error).message}`] };
    }
    const declared = ROOT_MAIN.exec(input.code) ?? ASSIGNED_MAIN.exec(input.code);
    if (!declared) return { prepared: false, errors: ['No main function found at root level'] };
    if (!declared[1]) return { prepared: false, errors: ['Main function exists but is not async'] };
    return { prepared: true };
  }

  protected async run(code: string, inputs: Record<string, unknown>, config: CodeConfig): Promise<CodeExecutionResult> {
    let json: string;
    try {
      json = JSON.stringify(inputs);
    } catch (error) {
      throw new RunFailure(`inputs must be JSON data: ${(error as Error).message}`);
    }
    const timeout = Math.min(
      config.timeout === undefined ? this.settings.timeoutMs : Math.ceil(config.timeout * 1000),
      this.settings.maxTimeoutMs,
    );
    const memory = Math.max(
      16,
      Math.min(config.memoryLimit ?? this.settings.memoryLimitMB, this.settings.maxMemoryLimitMB),
    );
    await this.turn();
    try {
      return await this.spawnRun(code, json, timeout, memory);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Waits for a free slot (`maxConcurrentRuns`). */
  private async turn(): Promise<void> {
    while (this.running >= this.settings.maxConcurrentRuns) await new Promise<void>((go) => this.waiting.push(go));
    this.running++;
  }

  private spawnRun(code: string, json: string, timeout: number, memory: number): Promise<CodeExecutionResult> {
    return new Promise<CodeExecutionResult>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          PERMISSION,
          '--experimental-vm-modules',
          '--no-warnings',
          `--max-old-space-size=${memory}`,
          '-e',
          ECMA_SANDBOX_RUNNER,
        ],
        {
          env: {},
          cwd: os.tmpdir(),
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          serialization: 'json',
          windowsHide: true,
        },
      );
      this.children.add(child);
      let stderr = '';
      let settled = false;
      let timedOut = false;
      let timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, STARTUP_MS + timeout);
      const settle = (result: CodeExecutionResult | RunFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.children.delete(child);
        child.removeAllListeners();
        child.stderr?.removeAllListeners();
        child.kill('SIGKILL');
        if (result instanceof RunFailure) reject(result);
        else resolve(result);
      };
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_BYTES);
      });
      child.on('message', (message: RunnerOutcome) => {
        if (message.ready) {
          // node has started: the run's own clock begins
          clearTimeout(timer);
          timer = setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeout);
          return;
        }
        const logs = Array.isArray(message.logs) ? message.logs.map(String) : [];
        const executionTime = typeof message.executionTime === 'number' ? message.executionTime : 0;
        if (message.ok) {
          let output: unknown = message.text;
          if (typeof message.output === 'string') {
            try {
              output = JSON.parse(message.output);
            } catch {
              output = message.output;
            }
          }
          settle({ output, executionTime, success: true, ...(logs.length ? { logs } : {}) });
        } else settle(new RunFailure(String(message.message ?? 'the code failed')));
      });
      child.on('error', (error) => settle(new RunFailure(`the sandbox could not run: ${error.message}`)));
      child.on('exit', (exitCode, signal) => {
        if (timedOut) settle(new RunFailure(`the run timed out after ${timeout} ms and was stopped`));
        else if (/heap limit|out of memory|allocation failed/i.test(stderr))
          settle(new RunFailure(`the run exceeded its memory limit of ${memory} MB and was stopped`));
        else
          settle(
            new RunFailure(
              `the sandbox exited before main settled (${signal ? `signal ${signal}` : `exit code ${exitCode}`})` +
                (exitCode === 0 ? ': main awaits something that never happens' : ''),
            ),
          );
      });
      child.send({ prelude: ECMA_SANDBOX_PRELUDE, code, json }, (error) => {
        if (error) settle(new RunFailure(`the sandbox could not run: ${error.message}`));
      });
    });
  }
}
