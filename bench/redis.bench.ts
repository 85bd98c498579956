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
const RESOLVER: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : 'bench-team'),
};

/**
 * Cache `Redis` and NKV `Redis` through their services (validation, the ACL decision, the value
 * encoding, the conditional Lua write) against raw ioredis `SET`/`GET` of the same keys and values
 * on the same redis-server, in this run: one caller at a time (latency-bound), then 100 at once
 * (auto-pipelining on both sides). A cache `set` is one read of the key's state plus one
 * conditional write (two round trips); a `get` reads state and value in one script (one).
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
