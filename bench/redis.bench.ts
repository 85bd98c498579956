import { Redis } from 'ioredis';
import { startRedis } from '../test/peers/redis';
import { CacheService } from '../libs/sre/src/cache/cache.service';
import { RedisCacheConnector } from '../libs/sre/src/cache/connectors/redis.connector';
import { createConnectorContext } from '../libs/sre/src/core/backend';
import { RedisNKVConnector } from '../libs/sre/src/nkv/connectors/redis.connector';
import { NKVService } from '../libs/sre/src/nkv/nkv.service';
import { AccessCandidate } from '../libs/sre/src/security/access-candidate';
import type { TeamResolver } from '../libs/sre/src/security/team-resolver';
import { BenchResult, measure, measureConcurrent, measurePair, PAIR_ROUNDS, printComparison } from './util';

const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:key:${i}`);
const VALUE = 'x'.repeat(64);
/** What Cache `Redis` keeps beside a value of an owner-only key, in size. */
const METADATA = '{"_sre":"s|AbCdEfGh12|","acl":"h:xxh3|a:f623df4e20112b07/rwo"}';
/** KEYS value, metadata; ARGV expected metadata, value, new metadata → 1 written | 0 changed. */
const CAS = `if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('MSET', KEYS[1], ARGV[2], KEYS[2], ARGV[3])
return 1`;
type CasClient = Redis & {
  benchCas(value: string, metadata: string, expected: string, bytes: string, next: string): Promise<number>;
};
const RESOLVER: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : 'bench-team'),
};

/**
 * Cache `Redis` and NKV `Redis` through their services (validation, the ACL decision, the value
 * encoding, the conditional Lua write) against raw ioredis `SET`/`GET` of the same keys and values
 * on the same redis-server, in this run: one caller at a time (latency-bound), then 100 at once,
 * subject and baseline in alternating rounds. The raw client is at its best in each mode: plain for
 * one caller (auto-pipelining adds a turn of the event loop to every command), auto-pipelined for
 * 100 (one write per tick). The connectors run with their defaults. A cache key is two
 * Redis keys (value and metadata, the original's layout): a `set` is one conditional Lua write
 * (from the state the connector last saw; a read first when it has none or it is stale), a `get`
 * one `MGET`; the calls of one tick share one script call / `MGET` / `MSET`. The cache rows are
 * compared with raw `SET`/`GET`, with the raw two-key floor (`MSET`/`MGET` of both keys), and a
 * set with the least script a conditional two-key write takes (compare the metadata, `MSET`).
 */
export async function runRedisBench(): Promise<void> {
  const peer = await startRedis();
  const hosts = `${peer.host}:${peer.port}`;
  const plain = new Redis({ host: peer.host, port: peer.port, lazyConnect: true });
  const piped = new Redis({ host: peer.host, port: peer.port, enableAutoPipelining: true, lazyConnect: true });
  await Promise.all([plain.connect(), piped.connect()]);
  // the least a conditional two-key write can be on Redis 7.0 (no IFEQ): one script call
  for (const client of [plain, piped]) client.defineCommand('benchCas', { numberOfKeys: 2, lua: CAS });
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
      await plain.set(`raw:${k}`, VALUE);
    }
    const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [];
    const valueAndMetadata = (i: number) => [`raw:${key(i)}`, VALUE, `raw:md:${key(i)}`, METADATA];
    const versions = KEYS.map(() => '');
    let writes = 0;
    const casAt = async (client: Redis, i: number) => {
      const k = i % KEYS.length;
      const next = `${METADATA}${writes++}`;
      const done = await (client as CasClient).benchCas(`raw:${key(i)}`, `raw:md:${key(i)}`, versions[k], VALUE, next);
      versions[k] = done === 1 ? next : ((await client.get(`raw:md:${key(i)}`)) ?? '');
    };
    for (const [mode, raw, run] of [
      ['sequential', plain, (name: string, op: (i: number) => Promise<unknown>, s: number) => measure(name, op, s)],
      [
        '100 concurrent',
        piped,
        (name: string, op: (i: number) => Promise<unknown>, s: number) => measureConcurrent(name, op, 100, s),
      ],
    ] as const) {
      const pair = (name: string, op: (i: number) => Promise<unknown>, baseline: string, floor: typeof op) =>
        measurePair(
          run,
          { name: `${name} (${mode})`, op },
          { name: `${baseline} (${mode})`, op: floor },
          // a round trip here is ~80-150 µs and the host's bursts last seconds: more, shorter
          // rounds put both sides through the same bursts
          PAIR_ROUNDS,
          4,
        ).then((row) => rows.push(row));
      const cacheSet = (i: number) => agent.set(key(i), VALUE);
      const cacheGet = (i: number) => agent.get(key(i));
      await pair('cache set', cacheSet, 'ioredis SET', (i) => raw.set(`raw:${key(i)}`, VALUE));
      await pair('cache get', cacheGet, 'ioredis GET', (i) => raw.get(`raw:${key(i)}`));
      // the floor of this layout: value and metadata are two keys (the original's), written together
      await pair('cache set', cacheSet, 'ioredis MSET value+metadata', (i) => raw.mset(valueAndMetadata(i)));
      await pair('cache set', cacheSet, 'ioredis script: conditional MSET', (i) => casAt(raw, i));
      await pair('cache get', cacheGet, 'ioredis MGET value+metadata', (i) =>
        raw.mget(`raw:${key(i)}`, `raw:md:${key(i)}`),
      );
      await pair(
        'NKV set',
        (i) => team.set('ns', key(i), VALUE),
        'ioredis SET',
        (i) => raw.set(`raw:${key(i)}`, VALUE),
      );
      await pair(
        'NKV get',
        (i) => team.get('ns', key(i)),
        'ioredis GET',
        (i) => raw.get(`raw:${key(i)}`),
      );
    }
    printComparison('Redis: Cache and NKV through the services vs raw ioredis (same redis-server)', rows);
  } finally {
    await Promise.all([cache.disconnect(), nkv.disconnect()]);
    plain.disconnect();
    piped.disconnect();
    await peer.stop();
  }
}
