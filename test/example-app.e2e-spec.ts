import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startExampleApp, RunningApp } from './support/app-process';
import { describeCacheAndKVRoutes } from './support/example-routes';
import { describeFileRoutes } from './support/example-file-routes';
import { rawRequest } from './support/http';

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
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

  // last: the 200 MB test's peak-RSS bound then covers everything the app did before it
  describeFileRoutes(() => app, {
    list: async () => filesUnder(path.join(dataDir, 'storage')),
    sizeOf: async (id) => fs.statSync(path.join(dataDir, 'storage', 'local', ...id.split('/'))).size,
    afterTraversal: () => {
      expect(fs.existsSync(path.join(dataDir, 'escape.txt'))).toBe(false);
      expect(fs.existsSync(path.join(dataDir, '..', 'escape.txt'))).toBe(false);
    },
  });
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
