import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunningApp {
  baseUrl: string;
  pid: number;
  /** Peak resident memory of the app process so far (VmHWM), in MB. */
  peakRssMb(): number;
  output(): string;
  /** SIGTERM, then the exit: `{ code, signal }` (Nest re-raises the signal after its shutdown hooks). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ROOT = path.resolve(__dirname, '../..');

/** `npm start`'s node arguments (e.g. `--max-semi-space-size=1 dist/src/main.js`), so the test runs what users run. */
function startArgs(): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start;
  const [command, ...args] = start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`npm start is expected to run node, got: ${start}`);
  return args.map((arg) => (arg.endsWith('.js') ? path.join(ROOT, arg) : arg));
}

/**
 * Starts the built example app (`npm test` builds it first) on a free port, as its own process so
 * its memory can be measured apart from Jest's.
 */
export async function startExampleApp(env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<RunningApp> {
  const args = startArgs();
  const main = args[args.length - 1];
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the app did not start within ${timeoutMs} ms:\n${log}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace('[::1]', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the app exited with code ${code} before listening:\n${log}`));
    });
  });
  return {
    baseUrl,
    pid: child.pid!,
    peakRssMb: () => {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
    output: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
