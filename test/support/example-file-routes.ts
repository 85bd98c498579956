import * as net from 'node:net';
import type { RunningApp } from './app-process';
import { generatedStream, rawRequest, streamDownload, streamUpload } from './http';

/** What the file-route tests look at behind the app: the Storage backend's own view, not the app's. */
export interface StoredFiles {
  /** Every object the backend holds (files, metadata, temp and staging objects), sorted. */
  list(): Promise<string[]>;
  /** The size of the stored content of `id`, read from the backend itself. */
  sizeOf(id: string): Promise<number>;
  /** Backend-specific checks after the path-traversal attempts (e.g. nothing outside the data folder). */
  afterTraversal?(): void | Promise<void>;
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
 * The example app's /files routes (and the temporary URLs they hand out), driven over HTTP: run
 * against every Storage configuration of the app (embedded LocalStorage, S3) with the same
 * expectations. `stored` checks the backend directly, so "nothing stored" is the backend's word.
 */
export function describeFileRoutes(app: () => RunningApp, stored: StoredFiles): void {
  it('PUT, HEAD, GET and DELETE a file', async () => {
    const put = await rawRequest(app().baseUrl, 'PUT', '/files/docs/hello.txt', {
      body: 'hello world',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(201);
    const head = await rawRequest(app().baseUrl, 'HEAD', '/files/docs/hello.txt');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('11');
    expect(head.headers['content-type']).toContain('text/plain');
    const get = await rawRequest(app().baseUrl, 'GET', '/files/docs/hello.txt');
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('hello world');
    expect((await rawRequest(app().baseUrl, 'DELETE', '/files/docs/hello.txt')).status).toBe(204);
    expect((await rawRequest(app().baseUrl, 'GET', '/files/docs/hello.txt')).status).toBe(404);
    expect((await rawRequest(app().baseUrl, 'HEAD', '/files/docs/hello.txt')).status).toBe(404);
  });

  it("another team gets 403 on the first team's file, and cannot overwrite or delete it", async () => {
    const acme = { 'x-sre-team': 'acme' };
    const rival = { 'x-sre-team': 'rival' };
    expect(
      (await rawRequest(app().baseUrl, 'PUT', '/files/acme-plan.txt', { body: 'secret plan', headers: acme })).status,
    ).toBe(201);
    expect((await rawRequest(app().baseUrl, 'GET', '/files/acme-plan.txt', { headers: rival })).status).toBe(403);
    expect((await rawRequest(app().baseUrl, 'HEAD', '/files/acme-plan.txt', { headers: rival })).status).toBe(403);
    expect(
      (await rawRequest(app().baseUrl, 'PUT', '/files/acme-plan.txt', { body: 'defaced', headers: rival })).status,
    ).toBe(403);
    expect((await rawRequest(app().baseUrl, 'DELETE', '/files/acme-plan.txt', { headers: rival })).status).toBe(403);
    const mine = await rawRequest(app().baseUrl, 'GET', '/files/acme-plan.txt', { headers: acme });
    expect(mine.body.toString()).toBe('secret plan');
  });

  it('refuses path traversal with 400 and stores nothing under a traversed name', async () => {
    const before = await stored.list();
    for (const target of [
      '/files/../../etc/passwd',
      '/files/..%2F..%2Fetc%2Fpasswd',
      '/files/a/..%2F..%2F..%2Fescape.txt',
      '/files/%2Fetc%2Fpasswd',
      '/files/a%00b',
    ]) {
      const get = await rawRequest(app().baseUrl, 'GET', target);
      expect([target, get.status]).toEqual([target, 400]);
      const put = await rawRequest(app().baseUrl, 'PUT', target, { body: 'x' });
      expect([target, put.status]).toEqual([target, 400]);
    }
    // refused before the backend: not even a normalised name (`escape.txt`, `etc/passwd`) was written
    expect(await stored.list()).toEqual(before);
    await stored.afterTraversal?.();
  });

  it('a bad team header is a 400', async () => {
    expect(
      (await rawRequest(app().baseUrl, 'GET', '/files/x.txt', { headers: { 'x-sre-team': '../admin' } })).status,
    ).toBe(400);
  });

  it('serves user files as sandboxed attachments with their stored Content-Type, never inline', async () => {
    const html = '<html><script>fetch("/files/acme-plan.txt")</script></html>';
    const put = await rawRequest(app().baseUrl, 'PUT', '/files/site/page%20%C3%A9.html', {
      body: html,
      headers: { 'content-type': 'text/html' },
    });
    expect(put.status).toBe(201);
    for (const method of ['GET', 'HEAD']) {
      const res = await rawRequest(app().baseUrl, method, '/files/site/page%20%C3%A9.html');
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
    const acme = { 'x-sre-team': 'acme' };
    const put = await rawRequest(app().baseUrl, 'PUT', '/files/shared/report.txt', {
      body: 'quarterly numbers',
      headers: { 'content-type': 'text/plain', ...acme },
    });
    expect(put.status).toBe(201);
    const shared = await rawRequest(app().baseUrl, 'POST', '/files/shared/report.txt?share=60', { headers: acme });
    expect(shared.status).toBe(201);
    const { url, expiresInSeconds } = JSON.parse(shared.body.toString()) as { url: string; expiresInSeconds: number };
    expect(expiresInSeconds).toBe(60);
    const link = new URL(url);
    expect(link.pathname).toMatch(/^\/_sre\/storage\/[A-Za-z0-9_-]{43}$/);
    // no team header: the link alone grants the download, with the stored type
    const download = await rawRequest(app().baseUrl, 'GET', link.pathname);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toContain('text/plain');
    expect(download.body.toString()).toBe('quarterly numbers');
    // a guessed token, another team's share of acme's file, and a bad ttl are refused
    expect((await rawRequest(app().baseUrl, 'GET', `/_sre/storage/${'A'.repeat(43)}`)).status).toBe(404);
    const rival = await rawRequest(app().baseUrl, 'POST', '/files/shared/report.txt?share=60', {
      headers: { 'x-sre-team': 'rival' },
    });
    expect(rival.status).toBe(403);
    for (const share of ['0', '-5', 'abc', '86401', '1.5']) {
      const target = `/files/shared/report.txt?share=${share}`;
      expect((await rawRequest(app().baseUrl, 'POST', target, { headers: acme })).status).toBe(400);
    }
  });

  it('an upload the client aborts mid-body is one WARN line: no ERROR, no stack, no 500, nothing stored', async () => {
    const storedBefore = await stored.list();
    const logBefore = app().output().length;
    await abortedPut(app().baseUrl, '/files/aborted/part.bin', 10 * 1024 * 1024, 512 * 1024);
    const since = () => app().output().slice(logBefore);
    await eventually(() => since().includes('aborted by the client'), since);
    // the same for a cache value
    await abortedPut(app().baseUrl, '/cache/aborted', 1024 * 1024, 64 * 1024);
    await eventually(() => since().includes('cache value "aborted" aborted'), since);
    const log = since();
    const lines = log.split('\n').filter((line) => line.includes('aborted'));
    expect(lines).toEqual([
      expect.stringMatching(/ WARN \[FilesController\] upload of "aborted\/part\.bin" aborted by the client/),
      expect.stringMatching(/ WARN \[CacheController\] cache value "aborted" aborted by the client/),
    ]);
    expect(log).not.toMatch(/ERROR|\n\s+at /);
    // nothing committed: no object, no temp or staging object left behind
    expect(await stored.list()).toEqual(storedBefore);
    expect((await rawRequest(app().baseUrl, 'GET', '/files/aborted/part.bin')).status).toBe(404);
    expect((await rawRequest(app().baseUrl, 'GET', '/cache/aborted')).status).toBe(404);
    // and the app goes on serving
    expect((await rawRequest(app().baseUrl, 'PUT', '/files/aborted/part.bin', { body: 'whole' })).status).toBe(201);
    expect((await rawRequest(app().baseUrl, 'GET', '/files/aborted/part.bin')).body.toString()).toBe('whole');
    expect((await rawRequest(app().baseUrl, 'GET', '/health')).status).toBe(200);
  }, 20_000);

  it('streams a 200 MB file up and down with the app staying under 150 MB peak RSS', async () => {
    const size = 200 * 1024 * 1024;
    const source = generatedStream(size);
    const put = await streamUpload(app().baseUrl, '/files/big/blob.bin', source.stream, { 'x-sre-team': 'acme' });
    expect(put.status).toBe(201);
    expect(await stored.sizeOf('big/blob.bin')).toBe(size);
    const down = await streamDownload(app().baseUrl, '/files/big/blob.bin', { 'x-sre-team': 'acme' });
    expect(down.status).toBe(200);
    expect(down.headers['content-length']).toBe(String(size));
    expect(down.bytes).toBe(size);
    expect(down.sha256).toBe(source.sha256());
    const peak = app().peakRssMb();
    // printed so the number lands in CI logs; the assertion is the memory bound
    process.stdout.write(`example app peak RSS after 200 MB up+down: ${peak.toFixed(1)} MB\n`);
    expect(peak).toBeLessThan(150);
  }, 120_000);
}
