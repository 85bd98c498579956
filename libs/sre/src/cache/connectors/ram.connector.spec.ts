import { createConnectorContext } from '../../core/connector';
import {
  SreAccessDeniedError,
  SreBackendError,
  SreInvalidInputError,
  SreNotFoundError,
  SreUnavailableError,
} from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { RAMCacheConnector, RAMCacheSettings } from './ram.connector';

/** Teams by candidate id, as an Account connector would resolve them. */
function accountWith(teams: Record<string, string>): TeamResolver {
  return { getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : teams[candidate.id]) };
}

async function ramCache(
  settings: Partial<RAMCacheSettings> = {},
  teams: Record<string, string> = {},
): Promise<RAMCacheConnector> {
  const checked = validateSettings(RAMCacheSettings, settings, 'Cache(RAM).settings');
  expect(checked.problems).toEqual([]);
  const cache = new RAMCacheConnector(
    checked.settings,
    createConnectorContext({ subsystem: 'Cache', connector: 'RAM', deps: { account: accountWith(teams) } }),
  );
  await cache.connect();
  return cache;
}

const alice = AccessCandidate.agent('alice');
const bob = AccessCandidate.agent('bob');

describe('RAMCacheConnector', () => {
  let cache: RAMCacheConnector;

  beforeEach(async () => {
    cache = await ramCache({}, { alice: 'team-a', bob: 'team-b', carol: 'team-a' });
  });

  afterEach(async () => {
    jest.useRealTimers();
    await cache.disconnect();
  });

  describe('values', () => {
    it('sets, gets, checks and deletes values of every supported type', async () => {
      const a = cache.requester(alice);
      const values: Record<string, unknown> = {
        text: 'hello',
        empty: '',
        bytes: Buffer.from([0, 1, 2, 255]),
        number: 42.5,
        zero: 0,
        flag: false,
        nothing: null,
        list: [1, 'two', { three: 3 }],
        object: { nested: { deep: [true, null] }, n: 1 },
      };
      for (const [key, value] of Object.entries(values)) {
        await expect(a.set(key, value as never)).resolves.toBe(true);
        await expect(a.exists(key)).resolves.toBe(true);
        expect(await a.get(key)).toEqual(value);
      }
      await a.delete('text');
      await expect(a.exists('text')).resolves.toBe(false);
      await expect(a.get('text')).resolves.toBeUndefined();
      await expect(a.getMetadata('text')).resolves.toBeUndefined();
      await expect(a.getACL('text')).resolves.toBeUndefined();
    });

    it('stores a Uint8Array as a Buffer', async () => {
      await cache.requester(alice).set('u8', new Uint8Array([7, 8]));
      const got = await cache.requester(alice).get<Buffer>('u8');
      expect(Buffer.isBuffer(got)).toBe(true);
      expect([...got!]).toEqual([7, 8]);
    });

    it('answers undefined (never throws or null) for a missing key', async () => {
      const a = cache.requester(alice);
      await expect(a.get('missing')).resolves.toBeUndefined();
      await expect(a.exists('missing')).resolves.toBe(false);
      await expect(a.getMetadata('missing')).resolves.toBeUndefined();
      await expect(a.getACL('missing')).resolves.toBeUndefined();
      await expect(a.getTTL('missing')).resolves.toBeUndefined();
      await expect(a.delete('missing')).resolves.toBeUndefined();
    });

    it('replaces the value and metadata on a second set', async () => {
      const a = cache.requester(alice);
      await a.set('k', 'one', undefined, { first: 1 });
      await a.set('k', 'two', undefined, { second: 2 });
      expect(await a.get('k')).toBe('two');
      expect(await a.getMetadata('k')).toEqual({ second: 2 });
    });

    it('rejects invalid keys, undefined and non-serialisable values', async () => {
      const a = cache.requester(alice);
      await expect(a.set('', 'x')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.get('bad\nkey')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.get('x'.repeat(1025))).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.set('k', undefined as never)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.set('k', (() => 1) as never)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.set('k', { n: 1n } as never)).rejects.toBeInstanceOf(SreInvalidInputError);
      const circular: Record<string, unknown> = { a: 1 };
      circular.self = circular;
      await expect(a.set('k', circular)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.set('k', 'v', undefined, { circular })).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.set('k', 'x', undefined, [] as never)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.exists('k')).resolves.toBe(false);
    });

    it('accepts keys with slashes, dots and colons as plain strings', async () => {
      const a = cache.requester(alice);
      await a.set('pub_url:1234', 'a');
      await a.set('some/path/../x.json', 'b');
      expect(await a.get('pub_url:1234')).toBe('a');
      expect(await a.get('some/path/../x.json')).toBe('b');
    });
  });

  describe('copies', () => {
    it('round-trips objects through JSON, as every backend does', async () => {
      const a = cache.requester(alice);
      await a.set('json', { when: new Date(0), gone: undefined, fn: () => 1, list: [undefined, 1] } as never);
      expect(await a.get('json')).toEqual({ when: '1970-01-01T00:00:00.000Z', list: [null, 1] });
    });

    it('never shares value objects with the caller, on set or on get', async () => {
      const a = cache.requester(alice);
      const input = { list: [1, 2], inner: { x: 1 } };
      await a.set('obj', input);
      input.list.push(3);
      input.inner.x = 99;
      const first = await a.get<{ list: number[]; inner: { x: number } }>('obj');
      expect(first).toEqual({ list: [1, 2], inner: { x: 1 } });
      first!.list.push(4);
      first!.inner.x = 42;
      expect(await a.get('obj')).toEqual({ list: [1, 2], inner: { x: 1 } });
    });

    it('copies Buffers in and out', async () => {
      const a = cache.requester(alice);
      const bytes = Buffer.from('abc');
      await a.set('buf', bytes);
      bytes[0] = 0x7a;
      const got = await a.get<Buffer>('buf');
      expect(got!.toString()).toBe('abc');
      got![1] = 0x7a;
      expect((await a.get<Buffer>('buf'))!.toString()).toBe('abc');
    });

    it('returns copies of metadata and of the ACL', async () => {
      const a = cache.requester(alice);
      const metadata = { tags: ['a'], owner: { name: 'x' }, plain: 1 };
      await a.set('m', 'v', undefined, metadata);
      metadata.tags.push('mutated-input');
      const got = (await a.getMetadata('m')) as typeof metadata;
      expect(got).toEqual({ tags: ['a'], owner: { name: 'x' }, plain: 1 });
      got.tags.push('mutated-output');
      got.plain = 2;
      expect(await a.getMetadata('m')).toEqual({ tags: ['a'], owner: { name: 'x' }, plain: 1 });

      const acl = (await a.getACL('m'))!;
      acl.grant(bob, 'read');
      await expect(cache.requester(bob).get('m')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });
  });

  describe('TTL (seconds)', () => {
    beforeEach(() => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    });

    it('counts down in seconds and expires value, metadata and ACL together', async () => {
      const a = cache.requester(alice);
      await a.set('t', 'v', undefined, { note: 'n' }, 10);
      expect(await a.getTTL('t')).toBe(10);
      jest.advanceTimersByTime(3_500);
      expect(await a.getTTL('t')).toBe(7);
      await expect(cache.requester(bob).set('t', 'squat')).rejects.toBeInstanceOf(SreAccessDeniedError);

      jest.advanceTimersByTime(6_500);
      await expect(a.exists('t')).resolves.toBe(false);
      await expect(a.get('t')).resolves.toBeUndefined();
      await expect(a.getMetadata('t')).resolves.toBeUndefined();
      await expect(a.getACL('t')).resolves.toBeUndefined();
      await expect(a.getTTL('t')).resolves.toBeUndefined();
      // the expired key's ACL no longer blocks anyone (W54)
      await expect(cache.requester(bob).set('t', 'mine')).resolves.toBe(true);
      expect(await cache.requester(bob).get('t')).toBe('mine');
    });

    it('expires a key nobody looks at in the same instant (no sweep delay)', async () => {
      const a = cache.requester(alice);
      await a.set('quiet', 'v', undefined, undefined, 1);
      jest.advanceTimersByTime(1_000);
      await expect(cache.requester(bob).getACL('quiet')).resolves.toBeUndefined();
    });

    it('rounds the remaining time up and accepts fractions of a second', async () => {
      const a = cache.requester(alice);
      await a.set('f', 'v', undefined, undefined, 0.25);
      expect(await a.getTTL('f')).toBe(1);
      jest.advanceTimersByTime(249);
      await expect(a.exists('f')).resolves.toBe(true);
      jest.advanceTimersByTime(1);
      await expect(a.exists('f')).resolves.toBe(false);
    });

    it('updateTTL extends the life of a key and keeps value and metadata', async () => {
      const a = cache.requester(alice);
      await a.set('u', 'v', undefined, { m: 1 }, 1);
      await a.updateTTL('u', 5);
      expect(await a.getTTL('u')).toBe(5);
      jest.advanceTimersByTime(2_000);
      expect(await a.get('u')).toBe('v');
      expect(await a.getMetadata('u')).toEqual({ m: 1 });
      expect(await a.getTTL('u')).toBe(3);
      jest.advanceTimersByTime(3_000);
      await expect(a.exists('u')).resolves.toBe(false);
    });

    it('set without a TTL clears an earlier TTL', async () => {
      const a = cache.requester(alice);
      await a.set('c', 'v1', undefined, undefined, 2);
      await a.set('c', 'v2');
      await expect(a.getTTL('c')).resolves.toBeUndefined();
      jest.advanceTimersByTime(60_000);
      expect(await a.get('c')).toBe('v2');
    });

    it('updateTTL without a TTL makes the key permanent', async () => {
      const a = cache.requester(alice);
      await a.set('p', 'v', undefined, undefined, 2);
      await a.updateTTL('p');
      await expect(a.getTTL('p')).resolves.toBeUndefined();
      jest.advanceTimersByTime(10_000);
      expect(await a.get('p')).toBe('v');
    });

    it('setMetadata and setACL keep the TTL', async () => {
      const a = cache.requester(alice);
      await a.set('k', 'v', undefined, undefined, 4);
      await a.setMetadata('k', { x: 1 });
      await a.setACL('k', new ACL().grant(bob, 'read'));
      expect(await a.getTTL('k')).toBe(4);
      jest.advanceTimersByTime(4_000);
      await expect(a.exists('k')).resolves.toBe(false);
    });

    it('refuses TTLs that are not positive finite seconds', async () => {
      const a = cache.requester(alice);
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '10' as never]) {
        await expect(a.set('bad', 'v', undefined, undefined, ttl)).rejects.toBeInstanceOf(SreInvalidInputError);
      }
      await a.set('ok', 'v');
      await expect(a.updateTTL('ok', 0)).rejects.toBeInstanceOf(SreInvalidInputError);
    });

    it('updateTTL of a missing or expired key is a not-found error', async () => {
      const a = cache.requester(alice);
      await expect(a.updateTTL('nope', 5)).rejects.toBeInstanceOf(SreNotFoundError);
      await a.set('gone', 'v', undefined, undefined, 1);
      jest.advanceTimersByTime(1_000);
      await expect(a.updateTTL('gone', 5)).rejects.toBeInstanceOf(SreNotFoundError);
    });

    it('the sweep frees the memory of expired keys nobody reads again', async () => {
      // built under fake timers so that its sweep timer is a fake one
      const swept = await ramCache();
      const a = swept.requester(alice);
      for (let i = 0; i < 10; i++) await a.set(`s${i}`, 'v', undefined, undefined, 1);
      await a.set('keep', 'v');
      expect(swept.size).toBe(11);
      jest.advanceTimersByTime(59_999);
      expect(swept.size).toBe(11);
      jest.advanceTimersByTime(1);
      expect(swept.size).toBe(1);
      expect(await a.get('keep')).toBe('v');
      await swept.disconnect();
    });
  });

  describe('metadata', () => {
    it('stores metadata, drops the reserved acl key, and merges on setMetadata', async () => {
      const a = cache.requester(alice);
      await a.set('m', 'v', undefined, { a: 1, nested: { b: [1, 2] }, acl: 'h:xxh3|a:ffff/o', skip: undefined });
      expect(await a.getMetadata('m')).toEqual({ a: 1, nested: { b: [1, 2] } });
      await a.setMetadata('m', { c: 3, a: 2 });
      expect(await a.getMetadata('m')).toEqual({ a: 2, nested: { b: [1, 2] }, c: 3 });
      expect(await a.get('m')).toBe('v');
    });

    it('never grows the ACL on repeated setMetadata (W04)', async () => {
      const a = cache.requester(alice);
      await a.set('g', 'v');
      const before = (await a.getACL('g'))!.serialize();
      for (let i = 0; i < 5; i++) await a.setMetadata('g', { i });
      expect((await a.getACL('g'))!.serialize()).toBe(before);
    });

    it('setMetadata on a missing key is a not-found error and creates nothing (W55)', async () => {
      const a = cache.requester(alice);
      await expect(a.setMetadata('missing', { a: 1 })).rejects.toBeInstanceOf(SreNotFoundError);
      await expect(a.exists('missing')).resolves.toBe(false);
      await expect(a.setMetadata('missing', undefined as never)).rejects.toBeInstanceOf(SreInvalidInputError);
    });
  });

  describe('access control', () => {
    it('makes the writer owner and keeps a foreign ACL given to set', async () => {
      const a = cache.requester(alice);
      const shared = new ACL().grant(bob, 'read');
      await a.set('shared', 'v', shared.toJSON(), { why: 'test' });
      const acl = (await a.getACL('shared'))!;
      expect(acl.levelsOf(alice)).toEqual(['owner']);
      expect(acl.levelsOf(bob)).toEqual(['read']);
      expect(await cache.requester(bob).get('shared')).toBe('v');
    });

    it('accepts the ACL in compact form', async () => {
      const a = cache.requester(alice);
      await a.set('compact', 'v', new ACL().grant(bob, ['read', 'write']).serialize());
      await cache.requester(bob).set('compact', 'from bob');
      expect(await a.get('compact')).toBe('from bob');
    });

    it('denies every operation to a candidate without access', async () => {
      await cache.requester(alice).set('private', 'v', undefined, undefined, 30);
      const b = cache.requester(bob);
      const attempts: Array<() => Promise<unknown>> = [
        () => b.get('private'),
        () => b.exists('private'),
        () => b.getMetadata('private'),
        () => b.getTTL('private'),
        () => b.getACL('private'),
        () => b.set('private', 'overwrite'),
        () => b.delete('private'),
        () => b.setMetadata('private', { x: 1 }),
        () => b.updateTTL('private', 100),
        () => b.setACL('private', new ACL().grant(bob, 'owner')),
      ];
      for (const attempt of attempts) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SreAccessDeniedError);
        expect((error as Error).name).toBe('ACLAccessDeniedError');
        expect((error as SreAccessDeniedError).subsystem).toBe('Cache');
      }
      expect(await cache.requester(alice).get('private')).toBe('v');
      expect(await cache.requester(alice).getTTL('private')).toBe(30);
    });

    it('read sharing grants reads only; write sharing grants writes but not setACL', async () => {
      const a = cache.requester(alice);
      const b = cache.requester(bob);
      await a.set('doc', 'v');
      await a.setACL('doc', new ACL().grant(bob, 'read'));
      expect(await b.get('doc')).toBe('v');
      await expect(b.exists('doc')).resolves.toBe(true);
      await expect(b.set('doc', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(b.delete('doc')).rejects.toBeInstanceOf(SreAccessDeniedError);

      await a.setACL('doc', new ACL().grant(bob, ['read', 'write']));
      await b.setMetadata('doc', { by: 'bob' });
      await b.updateTTL('doc', 50);
      await expect(b.setACL('doc', new ACL())).rejects.toBeInstanceOf(SreAccessDeniedError);
    });

    it('setACL replaces the ACL but the caller stays owner', async () => {
      const a = cache.requester(alice);
      await a.set('k', 'v');
      await a.setACL('k', new ACL().grant(bob, 'read'));
      let acl = (await a.getACL('k'))!;
      expect(acl.levelsOf(alice)).toEqual(['owner']);
      expect(acl.levelsOf(bob)).toEqual(['read']);
      await a.setACL('k', new ACL());
      acl = (await a.getACL('k'))!;
      expect(acl.levelsOf(alice)).toEqual(['owner']);
      expect(acl.levelsOf(bob)).toEqual([]);
      await expect(cache.requester(bob).get('k')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(a.setACL('missing', new ACL())).rejects.toBeInstanceOf(SreNotFoundError);
    });

    it("changing one key's ACL never changes another key of the same creator", async () => {
      const a = cache.requester(alice);
      await a.set('k1', 'v');
      await a.set('k2', 'v');
      await a.setACL('k1', new ACL().grant(bob, ['read', 'write']));
      await cache.requester(bob).set('k1', 'by bob');
      await a.setMetadata('k1', { x: 1 });
      await expect(cache.requester(bob).get('k2')).rejects.toBeInstanceOf(SreAccessDeniedError);
      expect((await a.getACL('k2'))!.serialize()).toBe(new ACL().grant(alice, 'owner').serialize());
    });

    it('a co-writer rewriting a key cannot evict the owner (W19)', async () => {
      const a = cache.requester(alice);
      const b = cache.requester(bob);
      await a.set('co', 'v1', new ACL().grant(bob, ['read', 'write']));
      await b.set('co', 'v2', new ACL());
      const acl = (await a.getACL('co'))!;
      expect(acl.levelsOf(alice)).toEqual(['owner']);
      expect(acl.levelsOf(bob)).toEqual(['owner']);
      expect(await a.get('co')).toBe('v2');
    });

    it('sharing with a team grants the team members, and only them', async () => {
      const a = cache.requester(alice);
      await a.set('team-doc', 'v', new ACL().addAccess('team', 'team-b', 'read'));
      expect(await cache.requester(bob).get('team-doc')).toBe('v');
      await expect(cache.requester(bob).set('team-doc', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(cache.requester(AccessCandidate.agent('carol')).get('team-doc')).rejects.toBeInstanceOf(
        SreAccessDeniedError,
      );
      await expect(cache.requester(AccessCandidate.user('stranger')).get('team-doc')).rejects.toBeInstanceOf(
        SreAccessDeniedError,
      );
    });

    it("a key owned by a team is usable by that team's members", async () => {
      await cache.team('team-a').set('team-owned', 'v');
      expect(await cache.agent('carol').get('team-owned')).toBe('v');
      await cache.agent('carol').set('team-owned', 'v2');
      await expect(cache.agent('bob').get('team-owned')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });

    it('public read access lets anyone read, not write', async () => {
      const a = cache.requester(alice);
      await a.set('pub', 'v', new ACL().addPublicAccess('read'));
      expect(await cache.requester(AccessCandidate.public()).get('pub')).toBe('v');
      expect(await cache.user('anyone').get('pub')).toBe('v');
      await expect(cache.user('anyone').set('pub', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });

    it('refuses to let anyone claim keys under another owner’s scope (W07)', async () => {
      await expect(cache.agent('alice').set('teams/team-b/secret', 'squat')).rejects.toBeInstanceOf(
        SreAccessDeniedError,
      );
      await expect(cache.agent('alice').set('teams/team-b.agent/bob/x', 'squat')).rejects.toBeInstanceOf(
        SreAccessDeniedError,
      );
      await expect(cache.agent('alice').set('users/u1/x', 'squat')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(cache.agent('alice').set('agents/bob/x', 'squat')).rejects.toBeInstanceOf(SreAccessDeniedError);

      await cache.agent('bob').set('teams/team-b/secret', 'ok');
      await cache.team('team-b').set('teams/team-b/other', 'ok');
      await cache.user('u1').set('users/u1/x', 'ok');
      await cache.agent('bob').set('agents/bob/x', 'ok');
      await cache.agent('alice').set('teams/team-a/mine', 'ok');
      expect(await cache.agent('bob').get('teams/team-b/secret')).toBe('ok');
      await expect(cache.agent('alice').get('teams/team-b/secret')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });

    it('without an Account subsystem only a team itself acts for its team', async () => {
      const bare = new RAMCacheConnector(
        new RAMCacheSettings(),
        createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }),
      );
      await bare.connect();
      await bare.team('t1').set('shared', 'v', new ACL().addAccess('team', 't1', 'read'));
      await expect(bare.agent('alice').get('shared')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(bare.agent('alice').set('teams/t1/x', 'v')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await bare.disconnect();
    });

    it('hasAccess answers without throwing', async () => {
      await cache.agent('alice').set('h', 'v');
      await expect(cache.hasAccess(alice, 'read', 'h')).resolves.toBe(true);
      await expect(cache.hasAccess(bob, 'read', 'h')).resolves.toBe(false);
    });
  });

  describe('concurrency', () => {
    it('two candidates creating one key at once: the first owns it, the second is denied', async () => {
      const [first, second] = await Promise.allSettled([
        cache.agent('alice').set('race', 1),
        cache.agent('bob').set('race', 2),
      ]);
      expect(first.status).toBe('fulfilled');
      expect(second.status).toBe('rejected');
      expect((second as PromiseRejectedResult).reason).toBeInstanceOf(SreAccessDeniedError);
      expect(await cache.agent('alice').get('race')).toBe(1);
      expect((await cache.agent('alice').getACL('race'))!.levelsOf(bob)).toEqual([]);
    });

    it('a write racing a revocation never outlives the revocation', async () => {
      const a = cache.requester(alice);
      await a.set('doc', 'v1', new ACL().grant(bob, ['read', 'write']));
      const results = await Promise.allSettled([a.setACL('doc', new ACL()), cache.requester(bob).set('doc', 'v2')]);
      expect(results[0].status).toBe('fulfilled');
      const acl = (await a.getACL('doc'))!;
      expect(acl.levelsOf(bob)).toEqual([]);
      expect(acl.levelsOf(alice)).toEqual(['owner']);
      await expect(cache.requester(bob).get('doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });

    it('gives up with a clear error when the key keeps changing under a write', async () => {
      class Churning extends RAMCacheConnector {
        attempts = 0;
        protected override writeEntry(): boolean {
          this.attempts++;
          return false;
        }
      }
      const churning = new Churning(
        new RAMCacheSettings(),
        createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }),
      );
      const error = await churning
        .agent('alice')
        .set('k', 'v')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreBackendError);
      expect((error as Error).message).toBe("Cache(RAM): cache key 'k' kept changing during the write; try again");
      expect(churning.attempts).toBe(5);
      await churning.disconnect();
    });
  });

  describe('bounded memory', () => {
    it('evicts the least recently used key past maxEntries', async () => {
      const small = await ramCache({ maxEntries: 3 });
      const a = small.requester(alice);
      await a.set('k1', 1);
      await a.set('k2', 2);
      await a.set('k3', 3);
      expect(await a.get('k1')).toBe(1);
      await a.set('k4', 4);
      expect(small.size).toBe(3);
      await expect(a.exists('k2')).resolves.toBe(false);
      expect(await a.get('k1')).toBe(1);
      expect(await a.get('k3')).toBe(3);
      expect(await a.get('k4')).toBe(4);
      await small.disconnect();
    });

    it('evicts to stay under maxSizeMB and refuses an entry larger than the budget', async () => {
      const small = await ramCache({ maxSizeMB: 0.01 });
      const a = small.requester(alice);
      const kb = 'x'.repeat(1024);
      for (let i = 0; i < 10; i++) await a.set(`big${i}`, kb);
      expect(small.size).toBeLessThan(10);
      await expect(a.exists('big0')).resolves.toBe(false);
      expect(await a.get('big9')).toBe(kb);
      await expect(a.set('huge', 'y'.repeat(6000))).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(a.set('huge-meta', 'v', undefined, { blob: 'z'.repeat(6000) })).rejects.toBeInstanceOf(
        SreInvalidInputError,
      );
      await small.disconnect();
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
  });

  describe('lifecycle', () => {
    it('connects on first use and refuses work once closed', async () => {
      const lazy = new RAMCacheConnector(
        new RAMCacheSettings(),
        createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }),
      );
      expect(lazy.state).toBe('created');
      await lazy.agent('alice').set('k', 'v');
      expect(lazy.state).toBe('ready');
      await lazy.disconnect();
      await expect(lazy.agent('alice').get('k')).rejects.toBeInstanceOf(SreUnavailableError);
    });

    it('keeps one keyspace per instance', async () => {
      const other = await ramCache();
      await cache.agent('alice').set('k', 'here');
      await expect(other.agent('alice').get('k')).resolves.toBeUndefined();
      await other.disconnect();
    });
  });
});
