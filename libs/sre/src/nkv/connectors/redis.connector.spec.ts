import { randomUUID } from 'node:crypto';
import { startSentinelGroup, type SentinelGroup } from '../../../../../test/peers/redis';
import { useRedisPeer } from '../../../../../test/peers/redis-jest';
import { createConnectorContext } from '../../core/backend';
import { MAX_BATCH_ITEMS } from '../../core/redis/redis-batch';
import { describeNKVBackend } from '../../testing/nkv.contract';
import { RedisNKVConnector, type RedisNKVSettings } from './redis.connector';

const context = () => createConnectorContext({ subsystem: 'NKV', connector: 'Redis' });

const redis = useRedisPeer();

const make = (more: Partial<RedisNKVSettings> = {}) =>
  new RedisNKVConnector({ hosts: redis.hosts(), prefix: `t${randomUUID()}`, ...more }, context());

describeNKVBackend('Redis', () => make());
// a SCAN step smaller than the namespaces listed: listing takes many steps
describeNKVBackend('Redis (scanCount 10)', () => make({ scanCount: 10 }));

describe('over Sentinel (master, replica, three sentinels)', () => {
  let group: SentinelGroup;
  beforeAll(async () => {
    group = await startSentinelGroup();
  }, 60_000);
  afterAll(() => group?.stop());
  describeNKVBackend('Redis via Sentinel', () =>
    make({ hosts: group.sentinels.map((s) => `${s.host}:${s.port}`), name: group.masterName }),
  );
});

describe('NKV Redis: layout and compatibility with the original', () => {
  let prefix: string;
  let nkv: RedisNKVConnector;
  beforeEach(async () => {
    prefix = `p${randomUUID()}`;
    nkv = make({ prefix });
    await nkv.connect();
  });
  afterEach(() => nkv.disconnect());

  it('keeps the original key layout for plain names, and escapes : and % so names never alias (W31)', async () => {
    await nkv.writeEntry('acme', 'settings', 'theme', 'j:"dark"');
    expect(await redis.raw().get(`${prefix}:cache:team_acme:settings:theme`)).toBe('j:"dark"');
    await nkv.writeEntry('acme', 'a:b', 'c', 'j:1');
    await nkv.writeEntry('acme', 'a', 'b:c', 'j:2');
    expect(await redis.raw().get(`${prefix}:cache:team_acme:a%3Ab:c`)).toBe('j:1');
    expect(await redis.raw().get(`${prefix}:cache:team_acme:a:b%3Ac`)).toBe('j:2');
    expect(await nkv.listEntries('acme', 'a')).toEqual([{ key: 'b:c', value: 'j:2' }]);
    expect(await nkv.listEntries('acme', 'a:b')).toEqual([{ key: 'c', value: 'j:1' }]);
  });

  it("lists and clears exactly one namespace: never 'ns2', 'ns:sub' or glob look-alikes (W32)", async () => {
    for (const ns of ['ns', 'ns2', 'ns:sub', 'n*', 'n?', '[ns]'])
      await nkv.writeEntry('acme', ns, 'k', `j:${JSON.stringify(ns)}`);
    expect(await nkv.listEntries('acme', 'n*')).toEqual([{ key: 'k', value: 'j:"n*"' }]);
    await nkv.deleteNamespace('acme', 'ns');
    await nkv.deleteNamespace('acme', 'n*');
    for (const ns of ['ns2', 'ns:sub', 'n?', '[ns]']) expect(await nkv.hasEntry('acme', ns, 'k')).toBe(true);
    expect(await nkv.hasEntry('acme', 'ns', 'k')).toBe(false);
  });

  it('reads what the original wrote (raw strings) and removes its namespace marker and ACL keys', async () => {
    const team = `${prefix}:cache:team_acme:legacy`;
    await redis.raw().set(team, '');
    await redis.raw().set(`${prefix}:metadata:team_acme:legacy`, '{"ns":true}');
    await redis.raw().set(`${team}:greeting`, 'hello');
    await redis.raw().set(`${prefix}:metadata:team_acme:legacy:greeting`, '{"acl":"h:md5"}');
    expect(await nkv.readEntry('acme', 'legacy', 'greeting')).toBe('j:"hello"');
    expect(await nkv.listEntries('acme', 'legacy')).toEqual([{ key: 'greeting', value: 'j:"hello"' }]);
    await nkv.deleteNamespace('acme', 'legacy');
    expect(await redis.raw().keys(`${prefix}:*`)).toEqual([]);
  });
});

describe('NKV Redis: the gets and sets of one tick share one MGET / MSET', () => {
  const calls = async (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await redis.raw().info('commandstats'))?.[1] ?? 0);

  it('batches up to MAX_BATCH_ITEMS calls a command, answers each alone, and keeps the order of other commands', async () => {
    const nkv = make();
    await nkv.connect();
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
      const msets = await calls('mset');
      await Promise.all(keys.map((key) => nkv.writeEntry('acme', 'ns', key, `j:"${key}"`)));
      // 300 sets in full batches and one partial
      const batches = Math.ceil(keys.length / MAX_BATCH_ITEMS);
      expect(batches).toBeGreaterThan(1);
      expect((await calls('mset')) - msets).toBe(batches);
      const mgets = await calls('mget');
      const values = await Promise.all(keys.map((key) => nkv.readEntry('acme', 'ns', key)));
      expect(values).toEqual(keys.map((key) => `j:"${key}"`));
      expect((await calls('mget')) - mgets).toBe(batches);
      // a delete sent right after a pending set lands after it
      const [, , after] = await Promise.all([
        nkv.writeEntry('acme', 'ns', 'gone', 'j:1'),
        nkv.deleteEntry('acme', 'ns', 'gone'),
        nkv.readEntry('acme', 'ns', 'gone'),
      ]);
      expect(after).toBeUndefined();
    } finally {
      await nkv.disconnect();
    }
  });
});
