import { createConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { describeCacheBackend } from '../../testing/cache.contract';
import { CacheService } from '../cache.service';
import { RAMCacheConnector, RAMCacheSettings } from './ram.connector';

const context = () => createConnectorContext({ subsystem: 'Cache', connector: 'RAM' });

describeCacheBackend('RAM', () => new RAMCacheConnector(new RAMCacheSettings(), context()));
// the size accounting runs on every write once a budget is set
describeCacheBackend('RAM with maxSizeMB', () => new RAMCacheConnector({ maxSizeMB: 64 }, context()));

const account: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : undefined),
};
const alice = AccessCandidate.agent('alice');

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
