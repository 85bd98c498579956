import { createConnectorContext } from '../backend';
import { SreConfigError } from '../errors';
import { validateSettings } from '../settings';
import { redisLinkFor } from './redis-connection';
import { RedisLink } from './redis-link';
import { parseRedisHosts, RedisConnectionSettings, resolveRedisTarget } from './redis-settings';

const NO_ENV = {};

describe('Redis settings', () => {
  it("parses one 'host:port', a comma-separated list, arrays of strings and of { host, port }, and IPv6", () => {
    expect(parseRedisHosts('127.0.0.1:6379')).toEqual([{ host: '127.0.0.1', port: 6379 }]);
    expect(parseRedisHosts('a:26379, b:26380')).toEqual([
      { host: 'a', port: 26379 },
      { host: 'b', port: 26380 },
    ]);
    expect(parseRedisHosts(['redis.internal:1', { host: 'x', port: 2 }])).toEqual([
      { host: 'redis.internal', port: 1 },
      { host: 'x', port: 2 },
    ]);
    expect(parseRedisHosts('[::1]:6379')).toEqual([{ host: '::1', port: 6379 }]);
  });

  it('says what is wrong with a bad hosts value, without repeating it', () => {
    expect(parseRedisHosts('localhost')).toBe("entry 1 must be 'host:port'");
    expect(parseRedisHosts('h:70000')).toBe('entry 1 has a port outside 1-65535');
    expect(parseRedisHosts([{ host: 'h' }])).toBe('entry 1 needs a port in 1-65535');
    expect(parseRedisHosts([])).toBe('must name at least one host');
    expect(parseRedisHosts(42)).toMatch(/must be 'host:port'/);
    const { problems } = validateSettings(
      RedisConnectionSettings,
      { hosts: 'redis://secret@h' },
      'Cache(Redis).settings',
    );
    expect(problems).toEqual(["Cache(Redis).settings.hosts: entry 1 must be 'host:port'"]);
  });

  it('validates the other fields by name', () => {
    const { problems } = validateSettings(
      RedisConnectionSettings,
      { db: -1, tls: { ca: 'not a pem' }, commandTimeoutMs: 1, password: '', nope: 1 },
      'Cache(Redis).settings',
    );
    expect(problems.sort()).toEqual(
      [
        'Cache(Redis).settings.commandTimeoutMs: must not be less than 50',
        'Cache(Redis).settings.db: must not be less than 0',
        'Cache(Redis).settings.nope: unknown setting',
        'Cache(Redis).settings.password: should not be empty',
        'Cache(Redis).settings.tls: must be true, false, or { ca (PEM text), servername, rejectUnauthorized (boolean) }',
      ].sort(),
    );
  });

  it('a single host string is a direct connection; a list is Sentinel and needs the master name', () => {
    const direct = resolveRedisTarget({ hosts: 'h:1', name: 'ignored' }, 'x', NO_ENV);
    expect(typeof direct !== 'string' && direct.sentinelMaster).toBeUndefined();
    expect(resolveRedisTarget({ hosts: ['h:1'] }, 'Cache(Redis).settings', NO_ENV)).toMatch(
      /^Cache\(Redis\)\.settings\.name: is required when hosts is a list/,
    );
    const sentinel = resolveRedisTarget({ hosts: 'a:1,b:2', name: 'mymaster' }, 'x', NO_ENV);
    expect(typeof sentinel !== 'string' && sentinel.sentinelMaster).toBe('mymaster');
  });

  it('falls back to REDIS_HOSTS, REDIS_MASTER_NAME and REDIS_PASSWORD, as the original', () => {
    const env = { REDIS_HOSTS: 's1:26379,s2:26379', REDIS_MASTER_NAME: 'prod', REDIS_PASSWORD: 'from-env' };
    const target = resolveRedisTarget({}, 'x', env);
    if (typeof target === 'string') throw new Error(target);
    expect(target.sentinelMaster).toBe('prod');
    expect(target.settings.password).toBe('from-env');
    expect(target.hosts).toHaveLength(2);
    expect(resolveRedisTarget({}, 'NKV(Redis).settings', NO_ENV)).toMatch(/^NKV\(Redis\)\.settings: names no Redis/);
    expect(resolveRedisTarget({}, 'x', { REDIS_HOSTS: 'nonsense' })).toBe(
      "x.hosts (from REDIS_HOSTS): entry 1 must be 'host:port'",
    );
  });

  it('identifies a target by hosts, master, user, db, TLS and a digest of the password, never the password', () => {
    const key = (settings: Partial<RedisConnectionSettings>) => {
      const target = resolveRedisTarget(settings, 'x', NO_ENV);
      if (typeof target === 'string') throw new Error(target);
      return target.key;
    };
    expect(key({ hosts: 'h:1', password: 'pw-one' })).toBe(
      key({ hosts: 'h:1', password: 'pw-one', commandTimeoutMs: 99 }),
    );
    expect(key({ hosts: 'h:1', password: 'pw-one' })).not.toBe(key({ hosts: 'h:1', password: 'pw-two' }));
    expect(key({ hosts: 'h:1', db: 1 })).not.toBe(key({ hosts: 'h:1' }));
    expect(key({ hosts: 'h:1', password: 'pw-one' })).not.toContain('pw-one');
  });
});

describe('redisLinkFor: the shared connection or a client of its own', () => {
  const target = resolveRedisTarget({ hosts: '127.0.0.1:6390', password: 'pw-shared' }, 'x', NO_ENV);
  if (typeof target === 'string') throw new Error(target);
  const shared = new RedisLink(target, createConnectorContext({ subsystem: 'x', connector: 'y' }).logger);
  const context = (redis?: RedisLink) =>
    createConnectorContext<{ redis?: RedisLink }>({ subsystem: 'NKV', connector: 'Redis', deps: { redis } });
  afterAll(() => shared.close());

  it('uses the shared link when the settings name no Redis, or the same one', () => {
    expect(redisLinkFor(new RedisConnectionSettings(), context(shared))).toEqual({ link: shared, owned: false });
    const same = Object.assign(new RedisConnectionSettings(), { hosts: '127.0.0.1:6390', password: 'pw-shared' });
    expect(redisLinkFor(same, context(shared)).link).toBe(shared);
  });

  it('makes its own link for another Redis, and owns it', async () => {
    const other = Object.assign(new RedisConnectionSettings(), { hosts: '127.0.0.1:6391' });
    const made = redisLinkFor(other, context(shared));
    expect(made.owned).toBe(true);
    expect(made.link).not.toBe(shared);
    await made.link.close();
  });

  it('without settings, a shared link or REDIS_HOSTS, refuses to boot naming the connector', () => {
    const saved = process.env.REDIS_HOSTS;
    delete process.env.REDIS_HOSTS;
    try {
      expect(() => redisLinkFor(new RedisConnectionSettings(), context())).toThrow(SreConfigError);
      expect(() => redisLinkFor(new RedisConnectionSettings(), context())).toThrow(
        /NKV\(Redis\)\.settings: names no Redis/,
      );
    } finally {
      if (saved !== undefined) process.env.REDIS_HOSTS = saved;
    }
  });
});
