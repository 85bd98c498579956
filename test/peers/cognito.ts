/**
 * A real Cognito peer for the tests: cognito-local 5.3.0 as a child process on a free port of
 * 127.0.0.1, in a fresh temp working dir (it keeps its state in `./.cognito` there). `stop` ends
 * the process (SIGTERM, then SIGKILL) and removes the dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CognitoPeer {
  readonly endpoint: string;
  readonly region: string;
  readonly dir: string;
  /** Settings of the AWS connectors (cognito-local takes any credentials). */
  settings(): { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; maxAttempts: number };
  /** The config of an SDK client of the tests' own (seeding). */
  clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function waitForStart(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`cognito-local did not start in time:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    const watch = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Cognito Local running/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    child.once('exit', (code) => fail(new Error(`cognito-local exited (${code}) before it started:\n${output}`)));
  });
}

export async function startCognitoPeer(): Promise<CognitoPeer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-cognito-'));
  // cognito-local makes every new pool sign users in by email unless told otherwise; AWS's default
  // (and what AWSAccount's user ids need) is a free-form username
  fs.mkdirSync(path.join(dir, '.cognito'));
  fs.writeFileSync(
    path.join(dir, '.cognito', 'config.json'),
    JSON.stringify({ UserPoolDefaults: { UsernameAttributes: [] } }),
  );
  const bin = require.resolve('cognito-local/lib/bin/start.js');
  // a port taken between the probe and the bind fails the start, and is tried again once
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, [bin], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForStart(child);
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 2) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const endpoint = `http://127.0.0.1:${port}`;
    const region = 'us-east-1';
    return {
      endpoint,
      region,
      dir,
      settings: () => ({ endpoint, region, accessKeyId: 'local', secretAccessKey: 'local', maxAttempts: 1 }),
      clientConfig: () => ({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(killer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
