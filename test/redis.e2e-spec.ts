import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AccessCandidate,
  CacheService,
  NKVService,
  SreConfigError,
  SreHealthService,
  SreModule,
  SreUnavailableError,
  type SreConfig,
} from 'nestjs-sre';
import { execFileSync } from 'node:child_process';
import { freePort, startRedis, startSentinelGroup, stopAllRedisPeers, type RedisPeer } from './peers/redis';

const PASSWORD = 'redis-e2e-password';
const dataDirs: string[] = [];
const apps: INestApplication[] = [];

async function boot(config: SreConfig): Promise<INestApplication> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-redis-e2e-'));
  dataDirs.push(dataDir);
  const moduleRef = await Test.createTestingModule({ imports: [SreModule.forRoot(config, { dataDir })] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  apps.push(app);
  return app;
}

async function closeAll(): Promise<void> {
  await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
}

/** The connections a Redis server has from clients other than the one asking. */
async function clientsOf(peer: RedisPeer): Promise<number> {
  const list = await peer.cli('CLIENT', 'LIST');
  return list.split('\n').filter((line) => line.includes('addr=') && !line.includes('cmd=client|list')).length;
}

async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<{ value: T; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    try {
      return { value: await attempt(), afterMs: Date.now() - started };
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const redisConfig = (hosts: string, more: Record<string, unknown> = {}): SreConfig => ({
  Cache: { Connector: 'Redis', Settings: { hosts, password: PASSWORD, ...more } },
  NKV: { Connector: 'Redis' },
});

afterEach(closeAll);
afterAll(async () => {
  await stopAllRedisPeers();
  for (const dir of dataDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('Redis through SreModule (real redis-server)', () => {
  let peer: RedisPeer;
  let hosts: string;
  beforeAll(async () => {
    peer = await startRedis({ password: PASSWORD, appendonly: true });
    hosts = `${peer.host}:${peer.port}`;
  }, 60_000);
  afterAll(() => peer?.stop());

  it("boots the seed's { hosts, password } for Cache, and NKV Redis shares its one client", async () => {
    const before = await clientsOf(peer);
    const app = await boot(redisConfig(hosts, { prefix: 'share' }));
    const agent = app.get(CacheService).requester(AccessCandidate.agent('a1'));
    await agent.set('k', { hello: 'redis' }, undefined, undefined, 60);
    expect(await agent.get('k')).toEqual({ hello: 'redis' });
    const kv = app.get(NKVService).requester(AccessCandidate.team('acme'));
    await kv.set('ns', 'key', [1, 2, 3]);
    expect(await kv.get('ns', 'key')).toEqual([1, 2, 3]);
    expect(await clientsOf(peer)).toBe(before + 1);
    const health = await app.get(SreHealthService).check();
    expect(
      health.filter((h) => /Redis/.test(`${h.subsystem}${h.connector}`)).map((h) => [h.subsystem, h.status]),
    ).toEqual(
      expect.arrayContaining([
        ['Cache', 'up'],
        ['NKV', 'up'],
        ['RedisConnection', 'up'],
      ]),
    );
    await closeAll();
    // QUIT on shutdown: the client is gone once the app is closed
    expect(await clientsOf(peer)).toBe(before);
  });

  it('a wrong password fails the boot with one clear error that never shows the password', async () => {
    const error = await boot({
      Cache: { Connector: 'Redis', Settings: { hosts, password: 'not-the-password' } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toMatch(/Cache\(Redis\).*refused the credentials/s);
    expect((error as Error).message).not.toContain('not-the-password');
    const none = await boot({ Cache: { Connector: 'Redis', Settings: { hosts } } }).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(/Cache\(Redis\).*(NOAUTH|refused the credentials)/s);
  });

  it('a Redis ACL user (username + password) works, and only within its key pattern', async () => {
    await peer.cli('ACL', 'SETUSER', 'sre-app', 'on', '>sre-app-password', '~acl-user:*', '+@all');
    const app = await boot({
      Cache: {
        Connector: 'Redis',
        Settings: { hosts, username: 'sre-app', password: 'sre-app-password', prefix: 'acl-user' },
      },
      NKV: { Connector: 'Redis' },
    });
    const kv = app.get(NKVService).requester(AccessCandidate.team('acme'));
    await kv.set('ns', 'k', 1);
    expect(await kv.get('ns', 'k')).toBe(1);
    // a prefix outside the user's pattern: Redis refuses every key, and the error says so
    const outside = await boot({
      Cache: {
        Connector: 'Redis',
        Settings: { hosts, username: 'sre-app', password: 'sre-app-password', prefix: 'elsewhere' },
      },
    });
    await expect(outside.get(CacheService).requester(AccessCandidate.agent('a')).set('k', 'v')).rejects.toThrow(
      /Cache\(Redis\).*NOPERM/,
    );
  });

  it('a Redis that is not there fails the boot naming the subsystem, the connector and the address', async () => {
    const closed = await startRedis();
    const address = `${closed.host}:${closed.port}`;
    await closed.stop();
    const error = await boot({ Cache: { Connector: 'Redis', Settings: { hosts: address } } }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/Cache\(Redis\)/);
    expect((error as Error).message).toContain(address);
  });

  it('two applications with different prefixes never see each other’s keys', async () => {
    const one = await boot(redisConfig(hosts, { prefix: 'app-one' }));
    const two = await boot(redisConfig(hosts, { prefix: 'app-two' }));
    const agent = AccessCandidate.agent('same-agent');
    await one.get(CacheService).requester(agent).set('k', 'one');
    expect(await two.get(CacheService).requester(agent).get('k')).toBeUndefined();
    await one.get(NKVService).requester(AccessCandidate.team('acme')).set('ns', 'k', 'one');
    expect(await two.get(NKVService).requester(AccessCandidate.team('acme')).get('ns', 'k')).toBeUndefined();
  });

  it("two applications on one Redis see each other's NKV writes and respect each other's ACLs", async () => {
    const one = await boot(redisConfig(hosts, { prefix: 'shared-app' }));
    const two = await boot(redisConfig(hosts, { prefix: 'shared-app' }));
    await one.get(NKVService).requester(AccessCandidate.team('acme')).set('orders', 'o1', { total: 3 });
    expect(await two.get(NKVService).requester(AccessCandidate.team('acme')).get('orders', 'o1')).toEqual({ total: 3 });
    expect(await two.get(NKVService).requester(AccessCandidate.team('rival')).get('orders', 'o1')).toBeUndefined();
    await one.get(CacheService).requester(AccessCandidate.agent('owner')).set('private', 'mine');
    const stranger = two.get(CacheService).requester(AccessCandidate.agent('stranger'));
    await expect(stranger.get('private')).rejects.toThrow('Access Denied');
    await expect(stranger.set('private', 'taken')).rejects.toThrow('Access Denied');
    expect(await two.get(CacheService).requester(AccessCandidate.agent('owner')).get('private')).toBe('mine');
  });

  it('Redis killed mid-test: commands fail fast and clearly, work again once it is back, and no acknowledged write is lost', async () => {
    const app = await boot(redisConfig(hosts, { prefix: 'outage', offlineTimeoutMs: 500, commandTimeoutMs: 1_000 }));
    const agent = app.get(CacheService).requester(AccessCandidate.agent('a1'));
    const kv = app.get(NKVService).requester(AccessCandidate.team('acme'));
    for (let i = 0; i < 50; i++) {
      await agent.set(`k${i}`, `v${i}`);
      await kv.set('ns', `k${i}`, i);
    }
    await peer.kill();
    const started = Date.now();
    const error = await agent.get('k1').catch((e: unknown) => e);
    const failedAfter = Date.now() - started;
    expect(error).toBeInstanceOf(SreUnavailableError);
    // sent before the client saw the socket close, it fails as dropped; after, as unreachable
    expect((error as Error).message).toMatch(/Cache\(Redis\).*(unreachable|connection dropped)/s);
    expect(failedAfter).toBeLessThan(3_000);
    const during = await kv.set('ns', 'during-outage', 1).catch((e: unknown) => e);
    expect(during).toBeInstanceOf(SreUnavailableError);
    expect((during as Error).message).toMatch(/NKV\(Redis\): Redis \(127\.0\.0\.1:\d+\) is unreachable for \d+ ms/);
    expect((await app.get(SreHealthService).check()).find((h) => h.subsystem === 'Cache')?.status).toBe('down');

    await peer.restart();
    await eventually(() => agent.get('k0'), 10_000);
    for (let i = 0; i < 50; i++) {
      expect(await agent.get(`k${i}`)).toBe(`v${i}`);
      expect(await kv.get('ns', `k${i}`)).toBe(i);
    }
    // what failed during the outage was never applied, not even later
    expect(await kv.exists('ns', 'during-outage')).toBe(false);
  }, 60_000);

  it('a Redis that stops answering (SIGSTOP): commands fail within commandTimeoutMs, never hang, and work again after', async () => {
    const app = await boot(redisConfig(hosts, { prefix: 'stall', commandTimeoutMs: 800, offlineTimeoutMs: 500 }));
    const kv = app.get(NKVService).requester(AccessCandidate.team('acme'));
    await kv.set('ns', 'before', 1);
    process.kill(peer.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const error = await kv.get('ns', 'before').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreUnavailableError);
      expect((error as Error).message).toMatch(/NKV\(Redis\): Redis \(127\.0\.0\.1:\d+\) did not answer within 800 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      process.kill(peer.pid, 'SIGCONT');
    }
    const { value } = await eventually(() => kv.get('ns', 'before'), 10_000);
    expect(value).toBe(1);
  }, 30_000);
});

describe('Redis over TLS (redis-server with tls-port, a private CA)', () => {
  it('connects with the CA given in settings.tls, and refuses a server it cannot verify', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-redis-tls-'));
    dataDirs.push(dir);
    const file = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=sre-test-ca',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
    );
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
    );
    fs.writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      file('ext.cnf'),
      '-out',
      file('server.crt'),
    );
    const tlsPort = await freePort();
    const peer = await startRedis({
      extraConfig: [
        `tls-port ${tlsPort}`,
        `tls-cert-file ${file('server.crt')}`,
        `tls-key-file ${file('server.key')}`,
        `tls-ca-cert-file ${file('ca.crt')}`,
        'tls-auth-clients no',
      ],
    });
    try {
      const ca = fs.readFileSync(file('ca.crt'), 'utf8');
      const app = await boot({
        Cache: { Connector: 'Redis', Settings: { hosts: `127.0.0.1:${tlsPort}`, tls: { ca }, prefix: 'tls' } },
        NKV: { Connector: 'Redis' },
      });
      const kv = app.get(NKVService).requester(AccessCandidate.team('acme'));
      await kv.set('ns', 'k', 'over tls');
      expect(await kv.get('ns', 'k')).toBe('over tls');
      expect(await peer.cli('GET', 'tls:cache:team_acme:ns:k')).toBe('j:"over tls"');
      // without the CA the server's certificate is not trusted: the boot fails, saying why
      const untrusted = await boot({
        Cache: { Connector: 'Redis', Settings: { hosts: `127.0.0.1:${tlsPort}`, tls: true } },
      }).catch((e: unknown) => e);
      expect((untrusted as Error).message).toMatch(/Cache\(Redis\).*(self[- ]signed|unable to verify|certificate)/i);
    } finally {
      await closeAll();
      await peer.stop();
    }
  }, 60_000);
});

describe('Redis Sentinel through SreModule (master, replica, three sentinels)', () => {
  it('boots on the Sentinels, follows a SENTINEL FAILOVER within seconds, and keeps what was written', async () => {
    const group = await startSentinelGroup({ password: PASSWORD });
    try {
      const sentinels = group.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
      const app = await boot({
        Cache: { Connector: 'Redis', Settings: { hosts: sentinels, name: group.masterName, password: PASSWORD } },
        NKV: { Connector: 'Redis' },
      });
      const agent = app.get(CacheService).requester(AccessCandidate.agent('a1'));
      const kv = app.get(NKVService).requester(AccessCandidate.team('acme'));
      for (let i = 0; i < 20; i++) await kv.set('before', `k${i}`, i);
      await agent.set('before', 'failover');
      // replicated before the switch: SENTINEL FAILOVER does not wait for the replica to catch up
      await group.master.cli('WAIT', '1', '5000');

      const oldMaster = await group.masterPort();
      const newMaster = await group.failover();
      expect(newMaster).not.toBe(oldMaster);
      const { afterMs } = await eventually(() => kv.set('after', 'k', 'written'), 15_000);
      expect(afterMs).toBeLessThan(10_000);
      if (process.env.SRE_REPORT_TIMINGS) process.stdout.write(`writes resumed ${afterMs} ms after the failover\n`);
      // the write landed on the new master
      const promoted = group.replica.port === newMaster ? group.replica : group.master;
      expect(await promoted.cli('GET', 'smyth:cache:team_acme:after:k')).toBe('j:"written"');
      for (let i = 0; i < 20; i++) expect(await kv.get('before', `k${i}`)).toBe(i);
      expect(await agent.get('before')).toBe('failover');
    } finally {
      await closeAll();
      await group.stop();
    }
  }, 90_000);
});
