import { Logger } from '@nestjs/common';
import express from 'express';
import { Readable } from 'node:stream';
import request from 'supertest';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreInvalidInputError, SreNotFoundError, SreUnavailableError } from '../core/errors';
import { ExpressRouterConnector } from '../router/connectors/express-router.connector';
import { RouterService } from '../router/router.service';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import type { TeamResolver } from '../security/team-resolver';
import { MemoryStorageBackend } from '../testing/backends/memory-storage.backend';
import { DEFAULT_TEMP_URL_TTL_SECONDS, StorageService } from './storage.service';

const account: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : 'acme'),
};
const alice = AccessCandidate.user('alice');
const eve = AccessCandidate.user('eve');
const BASE = 'https://files.example.com/sre';

function build(options: { router?: boolean } = {}) {
  const app = express();
  const router = new RouterService(
    new ExpressRouterConnector({ router: app, baseUrl: BASE }),
    createConnectorContext({ subsystem: 'Router', connector: 'ExpressRouter' }),
  );
  const backend = new MemoryStorageBackend();
  const storage = new StorageService(backend, createConnectorContext({ subsystem: 'Storage', connector: 'Memory' }), {
    account,
    router: options.router === false ? undefined : router,
  });
  return { app, router, backend, storage };
}

/** The bytes a GET answers, as text. */
async function textOf(app: express.Express, path: string): Promise<string> {
  const response = await request(app).get(path).buffer(true).parse(binary);
  expect(response.status).toBe(200);
  return (response.body as Buffer).toString();
}

/** The path of a temp URL on the app (the router serves under the base URL's origin). */
const pathOf = (url: string) => url.slice(BASE.length);

describe('Storage temporary URLs', () => {
  afterEach(() => jest.useRealTimers());

  it('serves the resource with its content type under <baseUrl>/_sre/storage/<token>', async () => {
    const { app, storage } = build();
    await storage.user('alice').write('docs/a.pdf', Buffer.from('%PDF-1.4 bytes'), undefined, {
      ContentType: 'application/pdf',
    });
    const url = await storage.user('alice').createTempUrl('docs/a.pdf', { ttlSeconds: 60 });
    expect(url).toMatch(/^https:\/\/files\.example\.com\/sre\/_sre\/storage\/[A-Za-z0-9_-]{43}$/);
    const response = await request(app).get(pathOf(url)).buffer(true).parse(binary);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    expect(response.headers['content-length']).toBe('14');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBe('sandbox');
    expect(response.headers['cache-control']).toBe('private, no-store');
    expect((response.body as Buffer).toString()).toBe('%PDF-1.4 bytes');
    const head = await request(app).head(pathOf(url));
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/pdf');
  });

  it('streams large resources, with application/octet-stream when no content type is stored', async () => {
    const { app, storage } = build();
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    await storage.user('alice').write('big.bin', Readable.from([big.subarray(0, 1e6), big.subarray(1e6)]));
    const url = await storage.user('alice').createTempUrl('big.bin');
    const response = await request(app).get(pathOf(url)).buffer(true).parse(binary);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect((response.body as Buffer).equals(big)).toBe(true);
  });

  it('gives a fresh unguessable token each time; unknown and malformed tokens answer 404', async () => {
    const { app, storage } = build();
    await storage.user('alice').write('a.txt', 'hello');
    const urls = await Promise.all(Array.from({ length: 20 }, () => storage.user('alice').createTempUrl('a.txt')));
    expect(new Set(urls).size).toBe(20);
    expect((await request(app).get('/_sre/storage/' + 'A'.repeat(43))).status).toBe(404);
    expect((await request(app).get('/_sre/storage/nope')).status).toBe(404);
  });

  it('needs read access on an existing resource, and a positive ttl', async () => {
    const { storage } = build();
    await storage.user('alice').write('private.txt', 'mine');
    await expect(storage.user('eve').createTempUrl('private.txt')).rejects.toThrow(SreAccessDeniedError);
    await expect(storage.user('alice').createTempUrl('missing.txt')).rejects.toThrow(SreNotFoundError);
    for (const ttlSeconds of [0, -1, Number.NaN, Infinity, '60' as never])
      await expect(storage.user('alice').createTempUrl('private.txt', { ttlSeconds })).rejects.toThrow(
        SreInvalidInputError,
      );
    await expect(storage.user('alice').createTempUrl('../x')).rejects.toThrow(SreInvalidInputError);
  });

  it('answers 404 after expiry (default 3600 s)', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'queueMicrotask'] });
    const { app, storage } = build();
    await storage.user('alice').write('a.txt', 'hello');
    const short = await storage.user('alice').createTempUrl('a.txt', { ttlSeconds: 5 });
    const long = await storage.user('alice').createTempUrl('a.txt');
    expect((await request(app).get(pathOf(short))).status).toBe(200);
    jest.setSystemTime(Date.now() + 5_000);
    expect((await request(app).get(pathOf(short))).status).toBe(404);
    expect(await textOf(app, pathOf(long))).toBe('hello');
    jest.setSystemTime(Date.now() + DEFAULT_TEMP_URL_TTL_SECONDS * 1000);
    expect((await request(app).get(pathOf(long))).status).toBe(404);
  });

  it('answers 404 once revoked, or once the resource is gone or no longer readable by its candidate', async () => {
    const { app, storage } = build();
    await storage.user('alice').write('a.txt', 'hello', new ACL().addAccess('user', 'eve', 'read'));
    const byAlice = await storage.user('alice').createTempUrl('a.txt');
    const byEve = await storage.requester(eve).createTempUrl('a.txt');
    expect(storage.revokeTempUrl(byAlice)).toBe(true);
    expect(storage.revokeTempUrl(byAlice)).toBe(false);
    expect(storage.revokeTempUrl('https://elsewhere.example.com/x')).toBe(false);
    expect((await request(app).get(pathOf(byAlice))).status).toBe(404);
    expect(await textOf(app, pathOf(byEve))).toBe('hello');
    await storage.requester(alice).setACL('a.txt', new ACL());
    expect((await request(app).get(pathOf(byEve))).status).toBe(404);
    const byPath = await storage.user('alice').createTempUrl('a.txt');
    expect(storage.revokeTempUrl(pathOf(byPath))).toBe(true); // its path is enough
    expect((await request(app).get(pathOf(byPath))).status).toBe(404);
    const again = await storage.user('alice').createTempUrl('a.txt');
    expect(storage.revokeTempUrl(`https://elsewhere.example.com/files/${again.split('/').pop()}`)).toBe(false);
    await storage.user('alice').delete('a.txt');
    expect((await request(app).get(pathOf(again))).status).toBe(404);
  });

  it('passes on to the next Storage instance on the same router', async () => {
    const { app, router } = build();
    const context = createConnectorContext({ subsystem: 'Storage', connector: 'Memory', instance: 'archive' });
    const first = new StorageService(new MemoryStorageBackend(), context, { account, router });
    const second = new StorageService(new MemoryStorageBackend(), context, { account, router });
    await second.user('alice').write('b.txt', 'from the second');
    const url = await second.user('alice').createTempUrl('b.txt');
    expect(first.revokeTempUrl(url)).toBe(false);
    expect(await textOf(app, pathOf(url))).toBe('from the second');
  });

  it('keeps Storage working without temporary URLs when the Router refuses the route', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const router = {
        get: () => {
          throw new Error('Router is not available');
        },
      } as unknown as RouterService;
      const storage = new StorageService(new MemoryStorageBackend(), undefined, { account, router });
      await storage.user('alice').write('a.txt', 'hello');
      expect(await storage.user('alice').read('a.txt')).toEqual(Buffer.from('hello'));
      await expect(storage.user('alice').createTempUrl('a.txt')).rejects.toThrow(SreUnavailableError);
      expect(String(warn.mock.calls[0]?.[0])).toBe('temporary URLs are off: Router is not available');
    } finally {
      warn.mockRestore();
    }
  });

  it('is refused without a Router, and forgotten at shutdown', async () => {
    const none = build({ router: false }).storage;
    await none.user('alice').write('a.txt', 'hello');
    await expect(none.user('alice').createTempUrl('a.txt')).rejects.toThrow(SreUnavailableError);
    await expect(none.user('alice').createTempUrl('a.txt')).rejects.toThrow('temporary URLs need the Router subsystem');
    const { app, storage } = build();
    await storage.user('alice').write('a.txt', 'hello');
    const url = await storage.user('alice').createTempUrl('a.txt');
    await storage.disconnect();
    expect((await request(app).get(pathOf(url))).status).toBe(404);
  });
});

function binary(response: request.Response, done: (error: Error | null, body: Buffer) => void): void {
  const stream = response as unknown as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}
