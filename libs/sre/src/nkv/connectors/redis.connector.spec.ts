import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { startRedis, startSentinelGroup, type RedisPeer, type SentinelGroup } from '../../../../../test/peers/redis';
import { createConnectorContext } from '../../core/backend';
import { describeNKVBackend } from '../../testing/nkv.contract';
import { RedisNKVConnector, type RedisNKVSettings } from './redis.connector';

const context = () => createConnectorContext({ subsystem: 'NKV', connector: 'Redis' });

let peer: RedisPeer;
let raw: Redis;
beforeAll(async () => {
  peer = await startRedis();
  raw = new Redis({ host: peer.host, port: peer.port, lazyConnect: true });
  await raw.connect();
}, 60_000);
afterAll(async () => {
  raw?.disconnect();
  await peer?.stop();
});

const make = (more: Partial<RedisNKVSettings> = {}) =>
  new RedisNKVConnector({ hosts: `${peer.host}:${peer.port}`, prefix: `t${randomUUID()}`, ...more }, context());

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
    expect(await raw.get(`${prefix}:cache:team_acme:settings:theme`)).toBe('j:"dark"');
    await nkv.writeEntry('acme', 'a:b', 'c', 'j:1');
    await nkv.writeEntry('acme', 'a', 'b:c', 'j:2');
    expect(await raw.get(`${prefix}:cache:team_acme:a%3Ab:c`)).toBe('j:1');
    expect(await raw.get(`${prefix}:cache:team_acme:a:b%3Ac`)).toBe('j:2');
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
    await raw.set(team, '');
    await raw.set(`${prefix}:metadata:team_acme:legacy`, '{"ns":true}');
    await raw.set(`${team}:greeting`, 'hello');
    await raw.set(`${prefix}:metadata:team_acme:legacy:greeting`, '{"acl":"h:md5"}');
    expect(await nkv.readEntry('acme', 'legacy', 'greeting')).toBe('j:"hello"');
    expect(await nkv.listEntries('acme', 'legacy')).toEqual([{ key: 'greeting', value: 'j:"hello"' }]);
    await nkv.deleteNamespace('acme', 'legacy');
    expect(await raw.keys(`${prefix}:*`)).toEqual([]);
  });
});
