import { createConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { describeCacheBackend } from '../../testing/cache.contract';
import type { CacheData } from '../cache.backend';
import { CacheService } from '../cache.service';
import * as v8 from 'node:v8';
import { defaultRAMCacheMaxSizeMB, RAMCacheConnector, RAMCacheSettings } from './ram.connector';

const context = () => createConnectorContext({ subsystem: 'Cache', connector: 'RAM' });

describeCacheBackend('RAM', () => new RAMCacheConnector(new RAMCacheSettings(), context()));
// under a budget small enough for the contract's values to evict each other
describeCacheBackend('RAM with maxSizeMB', () => new RAMCacheConnector({ maxSizeMB: 64 }, context()));

const account: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : undefined),
};
const alice = AccessCandidate.agent('alice');
const MB = 1024 * 1024;

/** A connected RAM backend with its service. */
async function ramCache(
  settings: Partial<RAMCacheSettings> = {},
): Promise<{ ram: RAMCacheConnector; cache: CacheService }> {
  const checked = validateSettings(RAMCacheSettings, settings, 'Cache(RAM).settings');
  expect(checked.problems).toEqual([]);
  const ram = new RAMCacheConnector(checked.settings, context());
  const cache = new CacheService(ram, context(), { account });
  await cache.connect();
  return { ram, cache };
}

describe('RAMCacheConnector', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('hands out the stored entry as its info: no allocation per read, and a new version per write', async () => {
    const { ram, cache } = await ramCache();
    await cache.requester(alice).set('k', 'v');
    const info = ram.readInfo('k')!;
    expect(ram.readInfo('k')).toBe(info);
    await cache.requester(alice).setMetadata('k', { m: 1 });
    expect(ram.readInfo('k')).not.toBe(info);
    expect(ram.readInfo('k')!.version).not.toBe(info.version);
    await cache.disconnect();
  });

  it('the sweep frees the memory of expired keys nobody reads again', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    // built under fake timers so that its sweep timer is a fake one
    const { ram, cache } = await ramCache();
    const a = cache.requester(alice);
    for (let i = 0; i < 10; i++) await a.set(`s${i}`, 'v', undefined, undefined, 1);
    await a.set('keep', 'v');
    expect(ram.size).toBe(11);
    jest.advanceTimersByTime(59_999);
    expect(ram.size).toBe(11);
    jest.advanceTimersByTime(1);
    expect(ram.size).toBe(1);
    expect(await a.get('keep')).toBe('v');
    await cache.disconnect();
  });

  it('evicts the least recently used key past maxEntries', async () => {
    const { ram, cache } = await ramCache({ maxEntries: 3 });
    const a = cache.requester(alice);
    await a.set('k1', 1);
    await a.set('k2', 2);
    await a.set('k3', 3);
    expect(await a.get('k1')).toBe(1);
    await a.set('k4', 4);
    expect(ram.size).toBe(3);
    await expect(a.exists('k2')).resolves.toBe(false);
    expect(await a.get('k1')).toBe(1);
    expect(await a.get('k3')).toBe(3);
    expect(await a.get('k4')).toBe(4);
    await cache.disconnect();
  });

  it('evicts to stay under maxSizeMB and refuses an entry larger than the budget', async () => {
    const { ram, cache } = await ramCache({ maxSizeMB: 0.01 });
    const a = cache.requester(alice);
    const kb = 'x'.repeat(1024);
    for (let i = 0; i < 10; i++) await a.set(`big${i}`, kb);
    expect(ram.size).toBeLessThan(10);
    await expect(a.exists('big0')).resolves.toBe(false);
    expect(await a.get('big9')).toBe(kb);
    await expect(a.set('huge', 'y'.repeat(6000))).rejects.toBeInstanceOf(SreInvalidInputError);
    await expect(a.set('huge-meta', 'v', undefined, { blob: 'z'.repeat(6000) })).rejects.toBeInstanceOf(
      SreInvalidInputError,
    );
    await expect(a.set('huge-object', { blob: 'z'.repeat(6000) })).rejects.toBeInstanceOf(SreInvalidInputError);
    await expect(a.setMetadata('big9', { blob: 'z'.repeat(6000) })).rejects.toBeInstanceOf(SreInvalidInputError);
    expect(await a.getMetadata('big9')).toEqual({});
    const error = (await a.set('huge', 'y'.repeat(6000)).catch((e: unknown) => e)) as SreInvalidInputError;
    expect([error.message, error.subsystem, error.connector]).toEqual([
      'entry is larger than the cache size limit (maxSizeMB)',
      'Cache',
      'RAM',
    ]);
    await cache.disconnect();
  });

  it('bounds memory by default: maxSizeMB is a quarter of the heap limit, at most 256 MB', () => {
    const heapLimit = v8.getHeapStatistics().heap_size_limit;
    const defaults = validateSettings(RAMCacheSettings, {}, 's').settings;
    expect(defaults.maxSizeMB).toBe(defaultRAMCacheMaxSizeMB());
    expect(defaults.maxSizeMB).toBe(Math.min(256, Math.floor(heapLimit / 4 / MB)));
    expect(defaults.maxSizeMB).toBeGreaterThan(0);
    for (const ram of [new RAMCacheConnector(defaults, context()), new RAMCacheConnector()]) {
      expect(ram.maxBytes).toBe(defaults.maxSizeMB * MB);
      expect(ram.maxBytes).toBeLessThanOrEqual(256 * MB);
      expect(ram.maxBytes).toBeLessThanOrEqual(heapLimit / 4);
    }
  });

  it('with default settings, 1 MB values past the default bound evict the oldest instead of piling up', async () => {
    const ram = new RAMCacheConnector(validateSettings(RAMCacheSettings, {}, 's').settings, context());
    await ram.connect();
    const acl = new ACL().grant(alice, 'owner');
    // one Buffer shared by every entry: the accounting counts 1 MB each, the test holds only one
    const value = Buffer.alloc(MB);
    const count = Math.ceil(ram.maxBytes / MB) + 50;
    for (let i = 0; i < count; i++)
      expect(ram.write(`k${i}`, { value, acl, metadata: '{}', expiresAt: undefined }, undefined)).toBe(true);
    expect(ram.bytes).toBeLessThanOrEqual(ram.maxBytes);
    expect(ram.bytes).toBeGreaterThan(ram.maxBytes - 2 * MB);
    expect(ram.size).toBeLessThan(count - 50);
    expect(ram.readInfo('k0')).toBeUndefined();
    expect(ram.readInfo(`k${count - 1}`)).toBeDefined();
    await ram.disconnect();
  });

  it('allocates for no more entries than the byte bound can hold, whatever maxEntries says', () => {
    const before = process.memoryUsage().arrayBuffers;
    const ram = new RAMCacheConnector({ maxEntries: 20_000_000, maxSizeMB: 16 }, context());
    // 16 MB / 128 bytes a slot at most: about 131 000 slots, not 20 million (~450 MB)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * MB);
    expect(ram.maxBytes).toBe(16 * MB);
  });

  it('warns at connect when maxSizeMB is over half the heap limit', async () => {
    const warn = jest.fn();
    const heapMB = v8.getHeapStatistics().heap_size_limit / MB;
    const ram = new RAMCacheConnector(
      { maxSizeMB: heapMB },
      { ...context(), logger: { warn } as unknown as ReturnType<typeof context>['logger'] },
    );
    await ram.connect();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('more than half the heap limit'));
    await ram.disconnect();
    warn.mockClear();
    const small = new RAMCacheConnector(
      { maxSizeMB: 1 },
      { ...context(), logger: { warn } as unknown as ReturnType<typeof context>['logger'] },
    );
    await small.connect();
    expect(warn).not.toHaveBeenCalled();
    await small.disconnect();
  });

  it('counts the bytes of key, value, metadata and ACL', async () => {
    const ram = new RAMCacheConnector({ maxSizeMB: 1 }, context());
    await ram.connect();
    const acl = new ACL().grant(alice, 'owner');
    const bytesOf = (key: string, value: CacheData, metadata = '{}', entryAcl = acl): number => {
      expect(ram.write(key, { value, acl: entryAcl, metadata, expiresAt: undefined }, undefined)).toBe(true);
      const bytes = ram.bytes;
      ram.delete(key, ram.readInfo(key)!.version);
      expect(ram.bytes).toBe(0);
      return bytes;
    };
    const base = bytesOf('k', '');
    expect(base).toBeGreaterThan(0);
    expect(bytesOf('k', 'x'.repeat(1000)) - base).toBe(2000); // 2 bytes a character
    expect(bytesOf('k', 'é'.repeat(1000)) - base).toBe(2000);
    expect(bytesOf('k', Buffer.alloc(1000)) - base).toBe(1000);
    expect(bytesOf('k', { json: `"${'x'.repeat(998)}"` }) - bytesOf('k', { json: '' })).toBe(2000);
    expect(bytesOf('k', 12345) - base).toBe(0);
    expect(bytesOf('k'.repeat(101), '') - base).toBe(200);
    expect(bytesOf('k', '', JSON.stringify({ m: 'x'.repeat(1000) })) - base).toBe(2 * (1008 - 2));
    const shared = new ACL().grant(alice, 'owner').grant(AccessCandidate.team('acme'), 'read');
    expect(bytesOf('k', '', '{}', shared) - base).toBe(2 * (shared.serialize().length - acl.serialize().length));
    // setMetadata and setACL re-measure the entry
    expect(ram.write('k', { value: 'v', acl, metadata: '{}', expiresAt: undefined }, undefined)).toBe(true);
    const before = ram.bytes;
    ram.writeInfo('k', { acl, expiresAt: undefined, metadata: '{"a":1}' }, ram.readInfo('k')!.version);
    expect(ram.bytes - before).toBe(10);
    ram.writeInfo('k', { acl: shared, expiresAt: undefined }, ram.readInfo('k')!.version);
    expect(ram.bytes - before).toBe(10 + 2 * (shared.serialize().length - acl.serialize().length));
    await ram.disconnect();
  });

  it('evicts by bytes under a configured bound, refuses an entry larger than it, and keeps the rest', async () => {
    const { ram, cache } = await ramCache({ maxSizeMB: 64 / 1024 }); // 64 KB
    const a = cache.requester(alice);
    const chunk = Buffer.alloc(10 * 1024, 7);
    for (let i = 0; i < 20; i++) await a.set(`buf${i}`, chunk);
    expect(ram.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(ram.size).toBe(6); // 10 KB each plus key, metadata, ACL and overhead: six fit in 64 KB
    await expect(a.exists('buf13')).resolves.toBe(false);
    expect(await a.get('buf14')).toEqual(chunk);
    expect(await a.get('buf19')).toEqual(chunk);
    // reading a key makes it recent: the next eviction takes buf15, not buf14
    await a.set('buf20', chunk);
    await expect(a.exists('buf14')).resolves.toBe(true);
    await expect(a.exists('buf15')).resolves.toBe(false);
    const held = ram.size;
    const bytes = ram.bytes;
    await expect(a.set('too-big', Buffer.alloc(64 * 1024))).rejects.toBeInstanceOf(SreInvalidInputError);
    await expect(a.set('too-big', 'x'.repeat(32 * 1024))).rejects.toBeInstanceOf(SreInvalidInputError);
    // a refused entry evicts nothing
    expect([ram.size, ram.bytes]).toEqual([held, bytes]);
    await expect(a.exists('too-big')).resolves.toBe(false);
    await cache.disconnect();
  });

  it('validates its settings', () => {
    expect(validateSettings(RAMCacheSettings, {}, 's').settings.maxEntries).toBe(100_000);
    expect(validateSettings(RAMCacheSettings, { maxEntries: 0 }, 's').problems).toEqual([
      expect.stringContaining('s.maxEntries'),
    ]);
    expect(validateSettings(RAMCacheSettings, { maxSizeMB: -1 }, 's').problems).toEqual([
      expect.stringContaining('s.maxSizeMB'),
    ]);
    expect(validateSettings(RAMCacheSettings, { prefix: 'x' }, 's').problems).toEqual(['s.prefix: unknown setting']);
  });

  it('keeps one keyspace per instance, and forgets it on disconnect', async () => {
    const first = await ramCache();
    const other = await ramCache();
    await first.cache.agent('alice').set('k', 'here', new ACL().addPublicAccess('read'));
    await expect(other.cache.agent('alice').get('k')).resolves.toBeUndefined();
    await other.cache.disconnect();
    expect(first.ram.size).toBe(1);
    await first.cache.disconnect();
    expect(first.ram.size).toBe(0);
  });

  it('works with defaults when built without settings or context', async () => {
    const ram = new RAMCacheConnector();
    await ram.connect();
    const acl = new ACL().grant(alice, 'owner');
    expect(ram.write('k', { value: 'v', acl, metadata: '{}', expiresAt: undefined }, undefined)).toBe(true);
    expect(ram.readValue('k', ram.readInfo('k')!.version)).toBe('v');
    await ram.disconnect();
  });
});
