/**
 * A wire-compatible AWS Lambda for the tests (restJson1 under `/2015-03-31/functions`), on a free
 * port of 127.0.0.1. It validates names (64 characters of `[A-Za-z0-9_-]`), runtimes, roles,
 * timeouts, memory and payload sizes like Lambda, and really runs the uploaded zip: each invoke
 * unzips into the function's dir and forks Node on a small runtime that loads `index.handler`,
 * killed at the function's `Timeout` (answered, like Lambda, as 200 + `X-Amz-Function-Error`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { unzipSync } from 'fflate';

export interface LambdaPeer {
  readonly endpoint: string;
  readonly functions: Map<string, { config: Record<string, any>; tags: Record<string, string>; dir: string }>;
  readonly calls: Map<string, number>;
  settings(): { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; maxAttempts: number };
  stop(): Promise<void>;
}

class LambdaError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const RUNTIMES = new Set(['nodejs18.x', 'nodejs20.x', 'nodejs22.x', 'nodejs24.x']);
const ROLE = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const MAX_PAYLOAD = 6 * 1024 * 1024;
const REGION = 'us-east-1';

// the "runtime": loads <file>.<export> from cwd, gets {event, context} over IPC, answers {ok, result | error}
const RUNTIME = `
const path = require('node:path'); const fs = require('node:fs'); const { pathToFileURL } = require('node:url');
const toError = (e) => ({ errorType: (e && e.name) || 'Error', errorMessage: (e && e.message) || String(e), trace: String((e && e.stack) || '').split('\\n') });
let done = false;
const finish = (msg) => { if (done) return; done = true; process.send(msg, () => process.exit(0)); };
process.on('unhandledRejection', (e) => finish({ ok: false, error: toError(e) }));
process.once('message', async ({ handler, event, context }) => {
  try {
    const dot = handler.lastIndexOf('.');
    const base = handler.slice(0, dot);
    const file = ['.mjs', '.js', '.cjs'].map((ext) => path.resolve(base + ext)).find((f) => fs.existsSync(f));
    if (!file) throw Object.assign(new Error("Cannot find module '" + base + "'"), { name: 'Runtime.ImportModuleError' });
    const fn = (await import(pathToFileURL(file).href))[handler.slice(dot + 1)];
    if (typeof fn !== 'function') throw Object.assign(new Error(handler + ' is undefined or not exported'), { name: 'Runtime.HandlerNotFound' });
    const deadline = Date.now() + context.timeoutMs;
    finish({ ok: true, result: await fn(event, { ...context, getRemainingTimeInMillis: () => deadline - Date.now() }) });
  } catch (e) { finish({ ok: false, error: toError(e) }); }
});`;

export async function startLambdaPeer(): Promise<LambdaPeer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-lambda-'));
  const runtime = path.join(root, 'runtime.cjs');
  fs.writeFileSync(runtime, RUNTIME);
  const functions: LambdaPeer['functions'] = new Map();
  const calls = new Map<string, number>();
  const children = new Set<ChildProcess>();

  const find = (name: string) => {
    const fn = functions.get(decodeURIComponent(name));
    if (!fn) throw new LambdaError(404, 'ResourceNotFoundException', `Function not found: ${name}`);
    return fn;
  };
  const check = (input: Record<string, any>) => {
    if (input.Runtime !== undefined && !RUNTIMES.has(input.Runtime))
      throw new LambdaError(
        400,
        'InvalidParameterValueException',
        `The runtime parameter of ${input.Runtime} is not supported.`,
      );
    if (input.Timeout !== undefined && !(Number.isInteger(input.Timeout) && input.Timeout >= 1 && input.Timeout <= 900))
      throw new LambdaError(400, 'ValidationException', 'Timeout must be between 1 and 900.');
    if (input.MemorySize !== undefined && !(input.MemorySize >= 128 && input.MemorySize <= 10240))
      throw new LambdaError(400, 'ValidationException', 'MemorySize must be between 128 and 10240.');
  };
  const setCode = (fn: { config: Record<string, any>; dir: string }, base64: unknown) => {
    if (typeof base64 !== 'string')
      throw new LambdaError(400, 'InvalidParameterValueException', 'ZipFile is required.');
    const zip = Buffer.from(base64, 'base64');
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(zip);
    } catch {
      throw new LambdaError(400, 'InvalidParameterValueException', 'Could not unzip uploaded file.');
    }
    fs.rmSync(fn.dir, { recursive: true, force: true });
    for (const [name, data] of Object.entries(files)) {
      const target = path.resolve(fn.dir, name);
      if (!target.startsWith(fn.dir + path.sep))
        throw new LambdaError(400, 'InvalidParameterValueException', 'Bad zip entry.');
      if (name.endsWith('/')) continue;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data);
    }
    Object.assign(fn.config, {
      CodeSize: zip.length,
      CodeSha256: createHash('sha256').update(zip).digest('base64'),
      LastModified: new Date().toISOString().replace('Z', '+0000'),
      RevisionId: randomUUID(),
      State: 'Active',
      LastUpdateStatus: 'Successful',
    });
  };

  const invoke = (
    fn: { config: Record<string, any>; dir: string },
    payload: Buffer,
    headers: http.IncomingHttpHeaders,
  ) =>
    new Promise<{ status: number; body: Buffer; headers: Record<string, string> }>((resolve) => {
      if (payload.length > MAX_PAYLOAD)
        throw new LambdaError(413, 'RequestTooLargeException', 'Request must be smaller than 6291456 bytes.');
      let event: unknown;
      try {
        event = payload.length ? JSON.parse(payload.toString('utf8')) : {};
      } catch {
        throw new LambdaError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      const clientContext = headers['x-amz-client-context']
        ? JSON.parse(Buffer.from(String(headers['x-amz-client-context']), 'base64').toString('utf8'))
        : undefined;
      const requestId = randomUUID();
      const config = fn.config;
      const child = fork(runtime, [], {
        cwd: fn.dir,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        env: {
          PATH: process.env.PATH,
          ...(config.Environment?.Variables ?? {}),
          AWS_LAMBDA_FUNCTION_NAME: config.FunctionName,
        },
      });
      children.add(child);
      let logs = '';
      child.stdout?.on('data', (d) => (logs += d));
      child.stderr?.on('data', (d) => (logs += d));
      let message: { ok: boolean; result?: unknown; error?: object } | undefined;
      const timer = setTimeout(() => {
        message = {
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${config.Timeout.toFixed(2)} seconds`,
          },
        };
        child.kill('SIGKILL');
      }, config.Timeout * 1000);
      child.on('message', (m: typeof message) => (message ??= m));
      // 'close', not 'exit': the result message may still be in flight on the IPC channel at exit
      child.on('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        const outcome = message ?? {
          ok: false,
          error: { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: exit status ${code}` },
        };
        let body = Buffer.from(JSON.stringify(outcome.ok ? (outcome.result ?? null) : outcome.error));
        const out: Record<string, string> = { 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': requestId };
        if (outcome.ok && body.length > MAX_PAYLOAD) {
          body = Buffer.from(
            JSON.stringify({
              errorType: 'Function.ResponseSizeTooLarge',
              errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
            }),
          );
          out['x-amz-function-error'] = 'Unhandled';
        } else if (!outcome.ok) out['x-amz-function-error'] = 'Unhandled';
        if (headers['x-amz-log-type'] === 'Tail')
          out['x-amz-log-result'] = Buffer.from(`START RequestId: ${requestId}\n${logs}END RequestId: ${requestId}\n`)
            .subarray(-4096)
            .toString('base64');
        resolve({ status: 200, body, headers: out });
      });
      child.send({
        handler: config.Handler,
        event,
        context: {
          functionName: config.FunctionName,
          awsRequestId: requestId,
          timeoutMs: config.Timeout * 1000,
          clientContext,
        },
      });
    });

  const route = async (method: string, url: string, body: Buffer, headers: http.IncomingHttpHeaders) => {
    const match = /^\/2015-03-31\/functions(?:\/([^/?]+))?(?:\/(code|configuration|invocations))?\/?(?:\?.*)?$/.exec(
      url,
    );
    if (!match) throw new LambdaError(404, 'UnknownOperationException', `No route for ${method} ${url}`);
    const [, name, sub] = match;
    const key = `${method} ${name ? 'fn' : ''}${sub ? `/${sub}` : ''}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
    const input = () => (body.length ? JSON.parse(body.toString('utf8')) : {});
    const json = (status: number, value: unknown) => ({
      status,
      body: Buffer.from(JSON.stringify(value)),
      headers: {},
    });
    switch (key) {
      case 'POST ': {
        const given = input();
        if (typeof given.FunctionName !== 'string' || !NAME.test(given.FunctionName))
          throw new LambdaError(
            400,
            'ValidationException',
            "Value at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length <= 64",
          );
        if (typeof given.Role !== 'string' || !ROLE.test(given.Role))
          throw new LambdaError(400, 'ValidationException', "Value at 'role' failed to satisfy constraint");
        check(given);
        if (functions.has(given.FunctionName))
          throw new LambdaError(409, 'ResourceConflictException', `Function already exist: ${given.FunctionName}`);
        const fn = {
          dir: path.join(root, 'fn', given.FunctionName),
          tags: given.Tags ?? {},
          config: {
            FunctionName: given.FunctionName,
            FunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:${given.FunctionName}`,
            Runtime: given.Runtime,
            Role: given.Role,
            Handler: given.Handler ?? 'index.handler',
            Description: given.Description ?? '',
            Timeout: given.Timeout ?? 3,
            MemorySize: given.MemorySize ?? 128,
            Environment: given.Environment,
            PackageType: 'Zip',
            Version: '$LATEST',
          } as Record<string, any>,
        };
        setCode(fn, given.Code?.ZipFile);
        functions.set(given.FunctionName, fn);
        return json(201, fn.config);
      }
      case 'GET fn': {
        const fn = find(name);
        return json(200, { Configuration: fn.config, Code: { RepositoryType: 'S3' }, Tags: fn.tags });
      }
      case 'GET fn/configuration':
        return json(200, find(name).config);
      case 'PUT fn/code': {
        const fn = find(name);
        setCode(fn, input().ZipFile);
        return json(200, fn.config);
      }
      case 'PUT fn/configuration': {
        const fn = find(name);
        const given = input();
        check(given);
        for (const field of ['Timeout', 'MemorySize', 'Description', 'Environment', 'Runtime', 'Handler'])
          if (given[field] !== undefined) fn.config[field] = given[field];
        fn.config.RevisionId = randomUUID();
        return json(200, fn.config);
      }
      case 'POST fn/invocations':
        return invoke(find(name), body, headers);
      case 'DELETE fn': {
        const fn = find(name);
        functions.delete(fn.config.FunctionName);
        fs.rmSync(fn.dir, { recursive: true, force: true });
        return { status: 204, body: Buffer.alloc(0), headers: {} };
      }
      default:
        throw new LambdaError(404, 'UnknownOperationException', `No route for ${method} ${url}`);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      let answer: { status: number; body: Buffer; headers: Record<string, string> };
      try {
        answer = await route(req.method ?? 'GET', req.url ?? '/', Buffer.concat(chunks), req.headers);
      } catch (error) {
        const e = error instanceof LambdaError ? error : new LambdaError(500, 'ServiceException', String(error));
        answer = {
          status: e.status,
          body: Buffer.from(JSON.stringify({ Type: e.status < 500 ? 'User' : 'Service', Message: e.message })),
          headers: { 'x-amzn-errortype': e.type },
        };
      }
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        'content-length': String(answer.body.length),
        ...answer.headers,
      });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    functions,
    calls,
    settings: () => ({ endpoint, region: REGION, accessKeyId: 'test', secretAccessKey: 'test', maxAttempts: 1 }),
    stop: async () => {
      for (const child of children) child.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
