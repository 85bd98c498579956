import { randomUUID } from 'node:crypto';
import { startSentinelGroup, type SentinelGroup } from '../../../../../test/peers/redis';
import { useRedisPeer } from '../../../../../test/peers/redis-jest';
import { createConnectorContext } from '../../core/backend';
import { MAX_BATCH_ITEMS } from '../../core/redis/redis-batch';
import { SreInvalidInputError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { describeCacheBackend } from '../../testing/cache.contract';
import { CacheService, type CacheRequester } from '../cache.service';
import { RedisCacheConnector, type RedisCacheSettings } from './redis.connector';

const context = () => createConnectorContext({ subsystem: 'Cache', connector: 'Redis' });
const account: TeamResolver = { getCandidateTeam: async (candidate) => (candidate.id === 'bob' ? 'beta' : 'acme') };

const redis = useRedisPeer();

/** A connector on its own prefix: each test sees an empty keyspace. */
const make = (more: Partial<RedisCacheSettings> = {}) =>
  new RedisCacheConnector({ hosts: redis.hosts(), prefix: `t${randomUUID()}`, ...more }, context());

describeCacheBackend('Redis', () => make(), { clock: 'real' });
describeCacheBackend('Redis (fake clock: the client clock decides expiry)', () => make());
describeCacheBackend('Redis (ioredis auto-pipelining on)', () => make({ autoPipelining: true }));

describe('over Sentinel (master, replica, three sentinels)', () => {
  let group: SentinelGroup;
  beforeAll(async () => {
    group = await startSentinelGroup({ password: 'sentinel-group-pw' });
  }, 60_000);
  afterAll(() => group?.stop());
  describeCacheBackend('Redis via Sentinel', () =>
    make({
      hosts: group.sentinels.map((s) => `${s.host}:${s.port}`),
      name: group.masterName,
      password: 'sentinel-group-pw',
    }),
  );
});

describe('Cache Redis: layout and compatibility with the original', () => {
  const service = async (prefix: string) => {
    const cache = new CacheService(make({ prefix }), context(), { account });
    await cache.connect();
    return cache;
  };

  it('writes the original layout: the raw value at <prefix>:cache:<key>, JSON metadata with a compact acl', async () => {
    const prefix = `p${randomUUID()}`;
    const cache = await service(prefix);
    try {
      const agent = cache.requester(AccessCandidate.agent('a1'));
      await agent.set('greeting', 'hello', undefined, { lang: 'en' }, 60);
      expect(await redis.raw().get(`${prefix}:cache:greeting`)).toBe('hello');
      const md = JSON.parse((await redis.raw().get(`${prefix}:metadata:greeting`))!) as Record<string, unknown>;
      expect(md.lang).toBe('en');
      expect(ACL.parse(md.acl as string).allowsDirectly(AccessCandidate.agent('a1'), 0b111)).toBe(true);
      expect(typeof md._sre).toBe('string');
      const ttl = await redis.raw().ttl(`${prefix}:cache:greeting`);
      expect(ttl).toBeGreaterThan(55);
      expect(await redis.raw().ttl(`${prefix}:metadata:greeting`)).toBe(ttl);
      await agent.set('blob', Buffer.from([0, 255, 1]));
      expect([...(await redis.raw().getBuffer(`${prefix}:cache:blob`))!]).toEqual([0, 255, 1]);
    } finally {
      await cache.disconnect();
    }
  });

  it("reads keys the original wrote: raw strings, metadata with a compact acl, Redis' own TTL", async () => {
    const prefix = `p${randomUUID()}`;
    const owner = new ACL().grant(AccessCandidate.agent('a1'), 'owner').serialize();
    await redis.raw().set(`${prefix}:cache:legacy`, 'from the original', 'EX', 120);
    await redis.raw().set(`${prefix}:metadata:legacy`, JSON.stringify({ note: 'kept', acl: owner }), 'EX', 120);
    const cache = await service(prefix);
    try {
      const agent = cache.requester(AccessCandidate.agent('a1'));
      expect(await agent.get('legacy')).toBe('from the original');
      expect(await agent.getMetadata('legacy')).toEqual({ note: 'kept' });
      expect(await agent.getTTL('legacy')).toBeGreaterThan(100);
      await expect(cache.requester(AccessCandidate.agent('a2')).get('legacy')).rejects.toThrow('Access Denied');
      // updated through the connector it keeps its value and becomes ours
      await agent.setMetadata('legacy', { more: 1 });
      expect(await agent.getMetadata('legacy')).toEqual({ note: 'kept', more: 1 });
      expect(await agent.get('legacy')).toBe('from the original');
      expect(await agent.getTTL('legacy')).toBeGreaterThan(100);
    } finally {
      await cache.disconnect();
    }
  });

  it('keeps two prefixes apart: the same key in two applications is two keys', async () => {
    const [one, two] = [await service(`app1${randomUUID()}`), await service(`app2${randomUUID()}`)];
    try {
      const agent = AccessCandidate.agent('shared-agent');
      await one.requester(agent).set('k', 'one');
      expect(await two.requester(agent).get('k')).toBeUndefined();
      await two.requester(agent).set('k', 'two');
      expect(await one.requester(agent).get('k')).toBe('one');
    } finally {
      await Promise.all([one.disconnect(), two.disconnect()]);
    }
  });

  it("refuses cache keys shaped like the NKV entries of the same keyspace ('team_<id>:...')", async () => {
    const connector = make();
    await connector.connect();
    try {
      const entry = { value: 'v', acl: new ACL(), metadata: '{}', expiresAt: undefined };
      await expect(connector.write('team_acme:ns:key', entry, undefined)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(connector.write('team-notes', entry, undefined)).resolves.toBe(true);
    } finally {
      await connector.disconnect();
    }
  });
});

describe('Cache Redis: the calls of one tick share one command', () => {
  const evalCalls = async () => {
    const stats = await redis.raw().info('commandstats');
    return (
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0) +
      Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0)
    );
  };
  const mgetCalls = async () =>
    Number(/cmdstat_mget:calls=(\d+)/.exec(await redis.raw().info('commandstats'))?.[1] ?? 0);

  /** `run` with agent `batch` of a service on a fresh prefix, disconnected after. */
  const withBatchAgent = async (run: (agent: CacheRequester, prefix: string) => Promise<void>) => {
    const prefix = `p${randomUUID()}`;
    const cache = new CacheService(make({ prefix }), context(), { account });
    await cache.connect();
    try {
      await run(cache.requester(AccessCandidate.agent('batch')), prefix);
    } finally {
      await cache.disconnect();
    }
  };

  it('sends the writes and the reads of one tick as one script call and one MGET, each answered alone', async () => {
    const cache = new CacheService(make(), context(), { account });
    await cache.connect();
    try {
      const agent = cache.requester(AccessCandidate.agent('batch'));
      const keys = Array.from({ length: MAX_BATCH_ITEMS + 8 }, (_, i) => `k${i}`);
      for (const key of keys) await agent.set(key, 'first');
      const scripts = await evalCalls();
      // a full batch goes out at once, the rest at the end of the tick
      await Promise.all(keys.map((key, i) => agent.set(key, `second ${i}`)));
      expect((await evalCalls()) - scripts).toBe(2);
      const gets = await mgetCalls();
      expect(await Promise.all(keys.map((key) => agent.get(key)))).toEqual(keys.map((_, i) => `second ${i}`));
      // two MGETs as well: the full batch and the rest
      expect((await mgetCalls()) - gets).toBe(2);
    } finally {
      await cache.disconnect();
    }
  });

  it("reads the state of one tick's keys (exists, getTTL) in one script call, each answered alone", async () => {
    await withBatchAgent(async (agent, prefix) => {
      const keys = Array.from({ length: 6 }, (_, i) => `s${i}`);
      for (const [i, key] of keys.entries()) await agent.set(key, 'v', undefined, undefined, i % 2 ? 300 : undefined);
      // the original's key: a raw value, metadata with its compact acl, Redis' own TTL
      await redis.raw().set(`${prefix}:cache:orig`, 'raw', 'EX', 120);
      const owner = new ACL().grant(AccessCandidate.agent('batch'), 'owner').serialize();
      await redis.raw().set(`${prefix}:metadata:orig`, JSON.stringify({ acl: owner }));
      // another program put a hash where s5's metadata lives
      await redis.raw().del(`${prefix}:metadata:s5`);
      await redis.raw().hset(`${prefix}:metadata:s5`, 'x', '1');
      const asked = [...keys.slice(0, 5), 'missing', 'orig'];
      const scripts = await evalCalls();
      const [exists, ttls] = await Promise.all([
        Promise.all(asked.map((key) => agent.exists(key))),
        Promise.all(asked.map((key) => agent.getTTL(key))),
      ]);
      expect((await evalCalls()) - scripts).toBe(1);
      expect(exists).toEqual([true, true, true, true, true, false, true]);
      expect(ttls.map((ttl) => (ttl === undefined ? 'none' : ttl > 100 ? 'set' : ttl))).toEqual([
        'none',
        'set',
        'none',
        'set',
        'none',
        'none',
        'set',
      ]);
      const wrong = await Promise.allSettled([agent.exists('s4'), agent.exists('s5')]);
      expect(wrong.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      expect(String((wrong[1] as PromiseRejectedResult).reason)).toMatch(/Cache\(Redis\).*WRONGTYPE/);
    });
  });

  it('fails only the write whose key Redis cannot take; the others of its batch are done', async () => {
    await withBatchAgent(async (agent, prefix) => {
      for (const key of ['a', 'b', 'c']) await agent.set(key, 'first');
      // another program put a hash where b's metadata lives
      await redis.raw().del(`${prefix}:metadata:b`);
      await redis.raw().hset(`${prefix}:metadata:b`, 'x', '1');
      const results = await Promise.allSettled(['a', 'b', 'c'].map((key) => agent.set(key, 'second')));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/Cache\(Redis\).*WRONGTYPE/);
      expect(await agent.get('a')).toBe('second');
      expect(await agent.get('c')).toBe('second');
    });
  });

  it('decides a second write of one key in a batch on the first one’s result, and keeps every expiry', async () => {
    const prefix = `p${randomUUID()}`;
    const connector = make({ prefix });
    await connector.connect();
    try {
      const acl = new ACL().grant(AccessCandidate.agent('a1'), 'owner');
      const entry = (value: string, expiresAt?: number) => ({ value, acl, metadata: '{}', expiresAt });
      const later = Date.now() + 60_000;
      await connector.write('a', entry('a0'), undefined);
      await connector.write('b', entry('b0'), undefined);
      const [a, b] = [(await connector.readInfo('a'))!.version, (await connector.readInfo('b'))!.version];
      const scripts = await evalCalls();
      const results = await Promise.all([
        connector.write('a', entry('a1', later), a),
        connector.write('a', entry('a2'), a),
        connector.write('b', entry('b1', later), b),
        connector.write('c', entry('c1', later), undefined),
        connector.write('c', entry('c2'), undefined),
      ]);
      expect((await evalCalls()) - scripts).toBe(1);
      expect(results).toEqual([true, false, true, true, false]);
      const raw = redis.raw();
      expect(await raw.mget(`${prefix}:cache:a`, `${prefix}:cache:b`, `${prefix}:cache:c`)).toEqual(['a1', 'b1', 'c1']);
      for (const key of ['a', 'b', 'c'])
        for (const kind of ['cache', 'metadata'])
          expect(await raw.pttl(`${prefix}:${kind}:${key}`)).toBeGreaterThan(50_000);
    } finally {
      await connector.disconnect();
    }
  });

  it('keeps the order of calls: a command sent after a batched write reaches Redis after it', async () => {
    const cache = new CacheService(make(), context(), { account });
    await cache.connect();
    try {
      const agent = cache.requester(AccessCandidate.agent('order'));
      await agent.set('k', 'one');
      // the set waits in this tick's batch; getTTL reads with a script of its own, sent at once
      const [, ttl] = await Promise.all([agent.set('k', 'two', undefined, undefined, 100), agent.getTTL('k')]);
      expect(ttl).toBe(100);
    } finally {
      await cache.disconnect();
    }
  });
});
