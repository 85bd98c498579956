import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startExampleApp, RunningApp } from './support/app-process';
import { describeCacheAndKVRoutes } from './support/example-routes';
import { generatedStream, rawRequest, streamDownload, streamUpload } from './support/http';

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Sends a PUT announcing `announced` bytes, `sent` of them, then resets the connection. */
async function abortedPut(baseUrl: string, target: string, announced: number, sent: number): Promise<void> {
  const url = new URL(baseUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `PUT ${target} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Length: ${announced}\r\n\r\n`,
  );
  await new Promise<void>((resolve) => socket.write(Buffer.alloc(sent, 1), () => resolve()));
  // let the app start streaming the body into Storage before the client goes away
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.resetAndDestroy();
}

/** Resolves once `check()` holds, polling every 25 ms; rejects after `timeoutMs` with `explain()`. */
async function eventually(check: () => boolean, explain: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The README's `npm start` app, run as its own process on embedded defaults (no keys, no network),
 * driven over HTTP.
 */
describe('example app (built, own process)', () => {
  let app: RunningApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-e2e-'));
    app = await startExampleApp({ SRE_DATA_DIR: dataDir, SRE_CONFIG: '', SRE_CONFIG_JSON: '' });
  });

  afterAll(async () => {
    const exit = await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    // SIGTERM runs the shutdown hooks (then Nest re-raises it): no connector may log a close error
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.output()).not.toMatch(/ERROR/);
  });

  it('GET /health reports every configured subsystem up with its connector', async () => {
    const res = await rawRequest(app.baseUrl, 'GET', '/health');
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString());
    expect(body.status).toBe('ok');
    expect(body.info).toMatchObject({
      Storage: { status: 'up', connector: 'LocalStorage' },
      Cache: { status: 'up', connector: 'RAM' },
      Vault: { status: 'up', connector: 'JSONFileVault' },
      Account: { status: 'up', connector: 'DummyAccount' },
      Log: { status: 'up', connector: 'ConsoleLog' },
      Code: { status: 'up', connector: 'ECMASandbox' },
    });
  });

  it('PUT, HEAD, GET and DELETE a file', async () => {
    const put = await rawRequest(app.baseUrl, 'PUT', '/files/docs/hello.txt', {
      body: 'hello world',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(201);
    const head = await rawRequest(app.baseUrl, 'HEAD', '/files/docs/hello.txt');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('11');
    expect(head.headers['content-type']).toContain('text/plain');
    const get = await rawRequest(app.baseUrl, 'GET', '/files/docs/hello.txt');
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('hello world');
    expect((await rawRequest(app.baseUrl, 'DELETE', '/files/docs/hello.txt')).status).toBe(204);
    expect((await rawRequest(app.baseUrl, 'GET', '/files/docs/hello.txt')).status).toBe(404);
    expect((await rawRequest(app.baseUrl, 'HEAD', '/files/docs/hello.txt')).status).toBe(404);
  });

  it("another team gets 403 on the first team's file, and cannot overwrite or delete it", async () => {
    const acme = { 'x-sre-team': 'acme' };
    const rival = { 'x-sre-team': 'rival' };
    expect(
      (await rawRequest(app.baseUrl, 'PUT', '/files/acme-plan.txt', { body: 'secret plan', headers: acme })).status,
    ).toBe(201);
    expect((await rawRequest(app.baseUrl, 'GET', '/files/acme-plan.txt', { headers: rival })).status).toBe(403);
    expect((await rawRequest(app.baseUrl, 'HEAD', '/files/acme-plan.txt', { headers: rival })).status).toBe(403);
    expect(
      (await rawRequest(app.baseUrl, 'PUT', '/files/acme-plan.txt', { body: 'defaced', headers: rival })).status,
    ).toBe(403);
    expect((await rawRequest(app.baseUrl, 'DELETE', '/files/acme-plan.txt', { headers: rival })).status).toBe(403);
    const mine = await rawRequest(app.baseUrl, 'GET', '/files/acme-plan.txt', { headers: acme });
    expect(mine.body.toString()).toBe('secret plan');
  });

  it('refuses path traversal with 400 and writes nothing outside the data folder', async () => {
    for (const target of [
      '/files/../../etc/passwd',
      '/files/..%2F..%2Fetc%2Fpasswd',
      '/files/a/..%2F..%2F..%2Fescape.txt',
      '/files/%2Fetc%2Fpasswd',
      '/files/a%00b',
    ]) {
      const get = await rawRequest(app.baseUrl, 'GET', target);
      expect([target, get.status]).toEqual([target, 400]);
      const put = await rawRequest(app.baseUrl, 'PUT', target, { body: 'x' });
      expect([target, put.status]).toEqual([target, 400]);
    }
    expect(fs.existsSync(path.join(dataDir, 'escape.txt'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, '..', 'escape.txt'))).toBe(false);
  });

  it('a bad team header is a 400', async () => {
    expect(
      (await rawRequest(app.baseUrl, 'GET', '/files/x.txt', { headers: { 'x-sre-team': '../admin' } })).status,
    ).toBe(400);
  });

  describeCacheAndKVRoutes(() => app);

  it('kv: names that look like path traversal stay names, stored inside the data folder', async () => {
    for (const target of ['/kv/..%2F..%2Fescape/key', '/kv/ns/..', '/kv/ns/..%2F..%2Fescape', '/kv/%2E%2E/k']) {
      expect([target, (await rawRequest(app.baseUrl, 'PUT', target, { body: '"x"' })).status]).toEqual([target, 204]);
      expect([target, (await rawRequest(app.baseUrl, 'GET', target)).body.toString()]).toEqual([target, '"x"']);
      expect([target, (await rawRequest(app.baseUrl, 'DELETE', target)).status]).toEqual([target, 204]);
    }
    expect(fs.existsSync(path.join(dataDir, '..', 'escape'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'escape'))).toBe(false);
  });

  it('GET /models lists the built-in models, without credentials', async () => {
    const res = await rawRequest(app.baseUrl, 'GET', '/models', { headers: { 'x-sre-team': 'acme' } });
    expect(res.status).toBe(200);
    const { models } = JSON.parse(res.body.toString()) as { models: Record<string, unknown>[] };
    const names = models.map((model) => model.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'echo-small', 'gpt-4o-mini', 'gpt-4o']));
    expect(models.find((model) => model.name === 'echo')).toMatchObject({
      modelId: 'echo',
      provider: 'Echo',
      tokens: 128_000,
      enabled: true,
    });
    for (const model of models) expect(model).not.toHaveProperty('credentials');
    expect((await rawRequest(app.baseUrl, 'GET', '/models')).status).toBe(200);
  });

  /** POSTs `{ code, inputs }` to /code/run as `team`; the status and the parsed answer. */
  async function runCode(
    code: string,
    inputs?: Record<string, unknown>,
    team = 'acme',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await rawRequest(app.baseUrl, 'POST', '/code/run', {
      body: JSON.stringify({ code, inputs }),
      headers: { 'content-type': 'application/json', 'x-sre-team': team },
    });
    return { status: res.status, body: JSON.parse(res.body.toString()) };
  }

  it('code: POST /code/run binds inputs by name and answers the outcome with the logs', async () => {
    const run = await runCode('async function main(a, b) { console.log("adding", a, b); return a + b }', {
      a: 2,
      b: 3,
    });
    expect(run.status).toBe(200);
    expect(run.body).toEqual({
      success: true,
      output: 5,
      logs: [expect.stringContaining('adding')],
      errors: [],
      executionTime: expect.any(Number),
    });
  });

  it('code: a runaway loop fails within the time limit and the app keeps serving runs', async () => {
    const started = Date.now();
    const loop = await runCode('async function main() { while (true) {} }');
    expect(loop.status).toBe(200);
    expect(loop.body).toMatchObject({ success: false, output: null });
    expect(loop.body.errors).toEqual([expect.stringMatching(/timed out/)]);
    // timeoutMs is 2000: stopped at the limit, with room for a slow CI host's process start-up
    expect(Date.now() - started).toBeLessThan(10_000);
    const next = await runCode('async function main(a) { return a * 2 }', { a: 21 });
    expect(next.body).toMatchObject({ success: true, output: 42 });
    expect((await rawRequest(app.baseUrl, 'GET', '/health')).status).toBe(200);
  }, 20_000);

  it('code: the snippet sees neither the environment nor the file system', async () => {
    for (const code of [
      'async function main() { return process.env }',
      'async function main() { return require("fs").readFileSync("/etc/passwd", "utf8") }',
      'async function main() { return (await import("node:fs")).readFileSync("/etc/passwd", "utf8") }',
    ]) {
      const run = await runCode(code);
      expect([code, run.status, run.body.success, run.body.output]).toEqual([code, 200, false, null]);
      expect(JSON.stringify(run.body)).not.toContain('root:');
    }
  });

  it('code: invalid JSON, a body that is not { code, inputs } or one over the cap is refused', async () => {
    for (const body of ['{"code":', 'not json', '']) {
      const res = await rawRequest(app.baseUrl, 'POST', '/code/run', { body });
      expect([body, res.status]).toEqual([body, 400]);
      expect(res.body.toString()).not.toContain('not json');
    }
    for (const body of ['[1]', '{"code":42}', '{"code":"  "}', '{"code":"async function main() {}","inputs":[1]}']) {
      const res = await rawRequest(app.baseUrl, 'POST', '/code/run', { body });
      expect([body, res.status]).toEqual([body, 400]);
    }
    const tooLarge = JSON.stringify({ code: `async function main() { return 1 } // ${'x'.repeat(300 * 1024)}` });
    expect((await rawRequest(app.baseUrl, 'POST', '/code/run', { body: tooLarge })).status).toBe(413);
  });

  it('GET /components lists the component names the team sees, the @SreComponent Echo included', async () => {
    const res = await rawRequest(app.baseUrl, 'GET', '/components', { headers: { 'x-sre-team': 'acme' } });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString());
    expect(body.components).toContain('Echo');
    expect(body.components.every((name: unknown) => typeof name === 'string')).toBe(true);
  });

  it('sets X-Content-Type-Options: nosniff on every response', async () => {
    await rawRequest(app.baseUrl, 'PUT', '/files/nosniff.txt', { body: 'x' });
    for (const [method, target] of [
      ['GET', '/health'],
      ['GET', '/files/nosniff.txt'],
      ['HEAD', '/files/nosniff.txt'],
      ['PUT', '/files/nosniff2.txt'],
      ['GET', '/files/missing.txt'],
      ['GET', '/files/..%2Fetc%2Fpasswd'],
      ['GET', '/no-such-route'],
      ['PUT', '/cache/nosniff'],
      ['DELETE', '/cache/nosniff'],
      ['PUT', '/kv/nosniff/key'],
      ['GET', '/kv/nosniff/key'],
      ['GET', '/kv/nosniff'],
      ['DELETE', '/kv/nosniff/key'],
      ['GET', '/models'],
    ]) {
      const res = await rawRequest(app.baseUrl, method, target, { body: method === 'PUT' ? 'x' : undefined });
      expect([method, target, res.headers['x-content-type-options']]).toEqual([method, target, 'nosniff']);
    }
  });

  it('serves user files as sandboxed attachments with their stored Content-Type, never inline', async () => {
    const html = '<html><script>fetch("/files/acme-plan.txt")</script></html>';
    const put = await rawRequest(app.baseUrl, 'PUT', '/files/site/page%20%C3%A9.html', {
      body: html,
      headers: { 'content-type': 'text/html' },
    });
    expect(put.status).toBe(201);
    for (const method of ['GET', 'HEAD']) {
      const res = await rawRequest(app.baseUrl, method, '/files/site/page%20%C3%A9.html');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['content-disposition']).toBe(
        `attachment; filename="page _.html"; filename*=UTF-8''page%20%C3%A9.html`,
      );
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      if (method === 'GET') expect(res.body.toString()).toBe(html);
    }
  });

  it('POST /files/<path>?share=60 gives a URL that works without the team header; guessed tokens and other teams get nothing', async () => {
    const put = await rawRequest(app.baseUrl, 'PUT', '/files/shared/report.txt', {
      body: 'quarterly numbers',
      headers: { 'content-type': 'text/plain', 'x-sre-team': 'acme' },
    });
    expect(put.status).toBe(201);
    const shared = await rawRequest(app.baseUrl, 'POST', '/files/shared/report.txt?share=60', {
      headers: { 'x-sre-team': 'acme' },
    });
    expect(shared.status).toBe(201);
    const { url, expiresInSeconds } = JSON.parse(shared.body.toString()) as { url: string; expiresInSeconds: number };
    expect(expiresInSeconds).toBe(60);
    const link = new URL(url);
    expect(link.pathname).toMatch(/^\/_sre\/storage\/[A-Za-z0-9_-]{43}$/);
    // no team header: the link alone grants the download, with the stored type
    const download = await rawRequest(app.baseUrl, 'GET', link.pathname);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toContain('text/plain');
    expect(download.body.toString()).toBe('quarterly numbers');
    // a guessed token, another team's share of acme's file, and a bad ttl are refused
    expect((await rawRequest(app.baseUrl, 'GET', `/_sre/storage/${'A'.repeat(43)}`)).status).toBe(404);
    const rival = await rawRequest(app.baseUrl, 'POST', '/files/shared/report.txt?share=60', {
      headers: { 'x-sre-team': 'rival' },
    });
    expect(rival.status).toBe(403);
    for (const share of ['0', '-5', 'abc', '86401', '1.5'])
      expect(
        (
          await rawRequest(app.baseUrl, 'POST', `/files/shared/report.txt?share=${share}`, {
            headers: { 'x-sre-team': 'acme' },
          })
        ).status,
      ).toBe(400);
  });

  it('an upload the client aborts mid-body is one WARN line: no ERROR, no stack, no 500, nothing stored', async () => {
    const storageDir = path.join(dataDir, 'storage');
    const filesBefore = filesUnder(storageDir);
    const logBefore = app.output().length;
    await abortedPut(app.baseUrl, '/files/aborted/part.bin', 10 * 1024 * 1024, 512 * 1024);
    const since = () => app.output().slice(logBefore);
    await eventually(() => since().includes('aborted by the client'), since);
    // the same for a cache value
    await abortedPut(app.baseUrl, '/cache/aborted', 1024 * 1024, 64 * 1024);
    await eventually(() => since().includes('cache value "aborted" aborted'), since);
    const log = since();
    const lines = log.split('\n').filter((line) => line.includes('aborted'));
    expect(lines).toEqual([
      expect.stringMatching(/ WARN \[FilesController\] upload of "aborted\/part\.bin" aborted by the client/),
      expect.stringMatching(/ WARN \[CacheController\] cache value "aborted" aborted by the client/),
    ]);
    expect(log).not.toMatch(/ERROR|\n\s+at /);
    // nothing committed: no file, no temp file left behind
    expect(fs.existsSync(path.join(storageDir, 'local', 'aborted', 'part.bin'))).toBe(false);
    expect(filesUnder(storageDir)).toEqual(filesBefore);
    expect((await rawRequest(app.baseUrl, 'GET', '/files/aborted/part.bin')).status).toBe(404);
    expect((await rawRequest(app.baseUrl, 'GET', '/cache/aborted')).status).toBe(404);
    // and the app goes on serving
    expect((await rawRequest(app.baseUrl, 'PUT', '/files/aborted/part.bin', { body: 'whole' })).status).toBe(201);
    expect((await rawRequest(app.baseUrl, 'GET', '/files/aborted/part.bin')).body.toString()).toBe('whole');
    expect((await rawRequest(app.baseUrl, 'GET', '/health')).status).toBe(200);
  }, 20_000);

  it('streams a 200 MB file up and down with the app staying under 150 MB peak RSS', async () => {
    const size = 200 * 1024 * 1024;
    const source = generatedStream(size);
    const put = await streamUpload(app.baseUrl, '/files/big/blob.bin', source.stream, { 'x-sre-team': 'acme' });
    expect(put.status).toBe(201);
    expect(fs.statSync(path.join(dataDir, 'storage', 'local', 'big', 'blob.bin')).size).toBe(size);
    const down = await streamDownload(app.baseUrl, '/files/big/blob.bin', { 'x-sre-team': 'acme' });
    expect(down.status).toBe(200);
    expect(down.headers['content-length']).toBe(String(size));
    expect(down.bytes).toBe(size);
    expect(down.sha256).toBe(source.sha256());
    const peak = app.peakRssMb();
    // printed so the number lands in CI logs; the assertion is the memory bound
    process.stdout.write(`example app peak RSS after 200 MB up+down: ${peak.toFixed(1)} MB\n`);
    expect(peak).toBeLessThan(150);
  }, 120_000);
});

/**
 * The RAM cache's default byte bound follows the heap: under a 128 MB heap (so the default is
 * 32 MB) 600 values of 1 MB evict each other instead of running the process out of memory.
 */
describe('example app cache under a small heap (own process)', () => {
  let app: RunningApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-e2e-cache-'));
    app = await startExampleApp({
      SRE_DATA_DIR: dataDir,
      SRE_CONFIG: '',
      SRE_CONFIG_JSON: '',
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=128`.trim(),
    });
  });

  afterAll(async () => {
    const exit = await app?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.output()).not.toMatch(/ERROR/);
  });

  it('PUTs 600 values of 1 MB to /cache and the app stays up, evicting the oldest', async () => {
    const value = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 600; i++) {
      const put = await rawRequest(app.baseUrl, 'PUT', `/cache/big/${i}`, { body: value });
      expect([i, put.status]).toEqual([i, 204]);
    }
    expect((await rawRequest(app.baseUrl, 'GET', '/health')).status).toBe(200);
    const last = await rawRequest(app.baseUrl, 'GET', '/cache/big/599');
    expect([last.status, last.body.length]).toEqual([200, value.length]);
    expect((await rawRequest(app.baseUrl, 'GET', '/cache/big/0')).status).toBe(404);
    const peak = app.peakRssMb();
    process.stdout.write(`example app peak RSS after 600 x 1 MB cache PUTs (128 MB heap): ${peak.toFixed(1)} MB\n`);
    expect(peak).toBeLessThan(300);
  }, 120_000);
});
