import { Redis } from 'ioredis';
import { startRedis } from '../test/peers/redis';
import { CacheService } from '../libs/sre/src/cache/cache.service';
import { RedisCacheConnector } from '../libs/sre/src/cache/connectors/redis.connector';
import { createConnectorContext } from '../libs/sre/src/core/backend';
import { RedisNKVConnector } from '../libs/sre/src/nkv/connectors/redis.connector';
import { NKVService } from '../libs/sre/src/nkv/nkv.service';
import { AccessCandidate } from '../libs/sre/src/security/access-candidate';
import type { TeamResolver } from '../libs/sre/src/security/team-resolver';
import { BenchResult, measure, measureConcurrent, printComparison } from './util';

const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:key:${i}`);
const VALUE = 'x'.repeat(64);
/** What Cache `Redis` keeps beside a value of an owner-only key, in size. */
const METADATA = '{"_sre":"s|AbCdEfGh12|","acl":"h:xxh3|a:f623df4e20112b07/rwo"}';
const RESOLVER: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : 'bench-team'),
};

/**
 * Cache `Redis` and NKV `Redis` through their services (validation, the ACL decision, the value
 * encoding, the conditional Lua write) against raw ioredis `SET`/`GET` of the same keys and values
 * on the same redis-server, in this run: one caller at a time (latency-bound), then 100 at once
 * (auto-pipelining on both sides). A cache key is two Redis keys (value and metadata, the original's
 * layout): a `set` is one conditional Lua write (from the state the connector last saw; a read
 * first when it has none or it is stale), a `get` one `MGET`. The cache rows are compared with raw
 * `SET`/`GET` and with the raw two-key floor (`MULTI` of two `SET`s, `MGET` of two keys).
 */
export async function runRedisBench(): Promise<void> {
  const peer = await startRedis();
  const hosts = `${peer.host}:${peer.port}`;
  const raw = new Redis({ host: peer.host, port: peer.port, enableAutoPipelining: true, lazyConnect: true });
  await raw.connect();
  const cacheContext = createConnectorContext({ subsystem: 'Cache', connector: 'Redis' });
  const cache = new CacheService(new RedisCacheConnector({ hosts }, cacheContext), cacheContext, {
    account: RESOLVER,
  });
  const nkvContext = createConnectorContext({ subsystem: 'NKV', connector: 'Redis' });
  const nkv = new NKVService(new RedisNKVConnector({ hosts }, nkvContext), nkvContext, { account: RESOLVER });
  await Promise.all([cache.connect(), nkv.connect()]);
  const agent = cache.requester(AccessCandidate.agent('bench'));
  const team = nkv.requester(AccessCandidate.team('bench-team'));
  const key = (i: number) => KEYS[i % KEYS.length];
  try {
    for (const k of KEYS) {
      await agent.set(k, VALUE);
      await team.set('ns', k, VALUE);
      await raw.set(`raw:${k}`, VALUE);
    }
    const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [];
    for (const [mode, run] of [
      ['sequential', (name: string, op: (i: number) => Promise<unknown>) => measure(name, op)],
      ['100 concurrent', (name: string, op: (i: number) => Promise<unknown>) => measureConcurrent(name, op, 100)],
    ] as const) {
      rows.push({
        subject: await run(`cache set (${mode})`, (i) => agent.set(key(i), VALUE)),
        baseline: await run(`ioredis SET (${mode})`, (i) => raw.set(`raw:${key(i)}`, VALUE)),
      });
      rows.push({
        subject: await run(`cache get (${mode})`, (i) => agent.get(key(i))),
        baseline: await run(`ioredis GET (${mode})`, (i) => raw.get(`raw:${key(i)}`)),
      });
      // the floor of this layout: value and metadata are two keys (the original's), written together
      rows.push({
        subject: await run(`cache set (${mode})`, (i) => agent.set(key(i), VALUE)),
        baseline: await run(`ioredis MULTI SET+SET (${mode})`, (i) =>
          raw
            .multi()
            .set(`raw:${key(i)}`, VALUE)
            .set(`raw:md:${key(i)}`, METADATA)
            .exec(),
        ),
      });
      rows.push({
        subject: await run(`cache get (${mode})`, (i) => agent.get(key(i))),
        baseline: await run(`ioredis MGET value+metadata (${mode})`, (i) =>
          raw.mget(`raw:${key(i)}`, `raw:md:${key(i)}`),
        ),
      });
      rows.push({
        subject: await run(`NKV set (${mode})`, (i) => team.set('ns', key(i), VALUE)),
        baseline: await run(`ioredis SET (${mode})`, (i) => raw.set(`raw:${key(i)}`, VALUE)),
      });
      rows.push({
        subject: await run(`NKV get (${mode})`, (i) => team.get('ns', key(i))),
        baseline: await run(`ioredis GET (${mode})`, (i) => raw.get(`raw:${key(i)}`)),
      });
    }
    printComparison('Redis: Cache and NKV through the services vs raw ioredis (same redis-server)', rows);
  } finally {
    await Promise.all([cache.disconnect(), nkv.disconnect()]);
    raw.disconnect();
    await peer.stop();
  }
}
