import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startExampleApp, RunningApp } from './support/app-process';
import { generatedStream, rawRequest, streamDownload, streamUpload } from './support/http';

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

  it('cache: PUT, GET, DELETE with a TTL', async () => {
    expect((await rawRequest(app.baseUrl, 'PUT', '/cache/greeting?ttl=60', { body: 'hi' })).status).toBe(204);
    const got = await rawRequest(app.baseUrl, 'GET', '/cache/greeting');
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('hi');
    expect(
      (await rawRequest(app.baseUrl, 'GET', '/cache/greeting', { headers: { 'x-sre-team': 'rival' } })).status,
    ).toBe(403);
    expect((await rawRequest(app.baseUrl, 'PUT', '/cache/greeting?ttl=-5', { body: 'x' })).status).toBe(400);
    expect((await rawRequest(app.baseUrl, 'DELETE', '/cache/greeting')).status).toBe(204);
    expect((await rawRequest(app.baseUrl, 'GET', '/cache/greeting')).status).toBe(404);
  });

  it('cache entries expire after their TTL', async () => {
    expect((await rawRequest(app.baseUrl, 'PUT', '/cache/short?ttl=1', { body: 'soon gone' })).status).toBe(204);
    expect((await rawRequest(app.baseUrl, 'GET', '/cache/short')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect((await rawRequest(app.baseUrl, 'GET', '/cache/short')).status).toBe(404);
  });

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
