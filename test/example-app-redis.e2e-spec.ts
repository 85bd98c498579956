import { Redis } from 'ioredis';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startRedis, type RedisPeer } from './peers/redis';
import { startExampleApp, type RunningApp } from './support/app-process';
import { describeCacheAndKVRoutes } from './support/example-routes';
import { rawRequest } from './support/http';

const CONFIG = path.resolve(__dirname, '../docs/examples/redis.sre-config.json');
const PASSWORD = 'example-app-redis-pw';

/**
 * The same example app, switched to Redis for Cache and NKV by configuration alone: the JSON file
 * in docs/examples named by SRE_CONFIG, the address and password in REDIS_HOSTS / REDIS_PASSWORD.
 */
describe('example app on Redis (built, own process, SRE_CONFIG=docs/examples/redis.sre-config.json)', () => {
  let peer: RedisPeer;
  let app: RunningApp;
  let raw: Redis;
  let dataDir: string;

  beforeAll(async () => {
    peer = await startRedis({ password: PASSWORD });
    raw = new Redis({ host: peer.host, port: peer.port, password: PASSWORD, lazyConnect: true });
    await raw.connect();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-e2e-redis-'));
    app = await startExampleApp({
      SRE_DATA_DIR: dataDir,
      SRE_CONFIG: CONFIG,
      SRE_CONFIG_JSON: '',
      REDIS_HOSTS: `${peer.host}:${peer.port}`,
      REDIS_PASSWORD: PASSWORD,
      REDIS_PREFIX: 'example',
    });
  }, 60_000);

  afterAll(async () => {
    const exit = await app?.stop();
    raw?.disconnect();
    await peer?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.output()).not.toMatch(/ERROR/);
    expect(app.output()).not.toContain(PASSWORD);
  });

  it('GET /health reports Cache and NKV on Redis, and the shared Redis connection, up', async () => {
    const health = JSON.parse((await rawRequest(app.baseUrl, 'GET', '/health')).body.toString());
    const text = JSON.stringify(health);
    expect(text).toMatch(/"Cache"[^}]*"Redis"/);
    expect(text).toMatch(/"NKV"[^}]*"Redis"/);
    expect(text).toContain('RedisConnection');
    expect(text).not.toContain('"down"');
  });

  it('keeps the values in Redis, in the original layout under the configured prefix', async () => {
    expect((await rawRequest(app.baseUrl, 'PUT', '/cache/in-redis?ttl=60', { body: 'stored' })).status).toBe(204);
    expect((await rawRequest(app.baseUrl, 'PUT', '/kv/settings/theme', { body: '"dark"' })).status).toBe(204);
    const keys = await raw.keys('example:*');
    expect(keys.some((key) => key.startsWith('example:cache:') && key.endsWith(':in-redis'))).toBe(true);
    expect(keys.some((key) => /^example:cache:team_[^:]+:settings:theme$/.test(key))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'nkv'))).toBe(false);
  });

  describeCacheAndKVRoutes(() => app);
});
