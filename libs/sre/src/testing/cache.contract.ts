import type { CacheBackend, CacheData, CacheEntry, CacheInfo } from '../cache/cache.backend';
import { CacheService } from '../cache/cache.service';
import { createConnectorContext } from '../core/backend';
import {
  SreAccessDeniedError,
  SreBackendError,
  SreInvalidInputError,
  SreNotFoundError,
  SreUnavailableError,
} from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { MAX_WRITE_ATTEMPTS } from '../security/secure-service';
import { OWN_TEAM_ONLY, type TeamResolver } from '../security/team-resolver';
import { teamResolver, timedTest, useFreshBackend } from './contract-harness';

export interface CacheBackendSuiteOptions {
  /**
   * `fake` (default): the backend decides expiry with this process's `Date.now()`, so the expiry
   * tests move Jest's fake clock and run instantly. `real`: they wait (a few seconds in all), with
   * `clockSkewMs` of slack, and the millisecond-boundary tests are left out.
   */
  clock?: 'fake' | 'real';
  /** Extra wait after each expiry with `clock: 'real'` (default 150 ms). */
  clockSkewMs?: number;
  /** Bytes of the large-value tests (default 1 MiB). */
  largeValueBytes?: number;
  /** Per-test timeout in milliseconds, for slow backends. */
  timeoutMs?: number;
}

/** Teams of the stand-in Account. */
const resolver = teamResolver({ alice: 'team-a', bob: 'team-b', carol: 'team-a' });

const alice = AccessCandidate.agent('alice');
const bob = AccessCandidate.agent('bob');
const ALICE_OWNS = new ACL().grant(alice, 'owner');

// keys the service accepts that a backend might mangle: separators, spaces, non-ASCII, Object members
const ODD_KEYS = [
  'a',
  'a/b',
  'a/b/',
  'pub_url:1234',
  'some/path/../x.json',
  ' spaced key ',
  'ключ-🔑',
  '*',
  '%2F',
  'constructor',
  '__proto__',
  'k'.repeat(1024),
];

type Operation = 'readInfo' | 'readValue' | 'readMetadata' | 'write' | 'writeInfo' | 'delete';

/** `backend` behind a plain object, with some operations replaced (`this`-safe for any backend). */
function delegate(backend: CacheBackend, overrides: Partial<CacheBackend> = {}): CacheBackend {
  return {
    connect: async () => backend.connect?.(),
    disconnect: async () => backend.disconnect?.(),
    readInfo: (key) => backend.readInfo(key),
    readValue: (key, version) => backend.readValue(key, version),
    readMetadata: (key, version) => backend.readMetadata(key, version),
    write: (key, entry, ifVersion) => backend.write(key, entry, ifVersion),
    writeInfo: (key, update, ifVersion) => backend.writeInfo(key, update, ifVersion),
    delete: (key, ifVersion) => backend.delete(key, ifVersion),
    ...overrides,
  };
}

/**
 * `backend` with one operation that can be held: `hold()` arms it, and the next call of
 * `operation` waits until `open()`; `arrived` resolves once it waits. Makes a race deterministic:
 * the held call runs after whatever the test does meanwhile.
 */
function holdable(backend: CacheBackend, operation: Operation) {
  const original = backend[operation].bind(backend) as (...args: unknown[]) => unknown;
  let armed: { gate: Promise<void>; arrive: () => void } | undefined;
  const wrapped = delegate(backend, {
    [operation]: async (...args: unknown[]) => {
      const hold = armed;
      armed = undefined;
      if (hold) {
        hold.arrive();
        await hold.gate;
      }
      return original(...args);
    },
  });
  return {
    backend: wrapped,
    hold(): { arrived: Promise<void>; open: () => void } {
      let open!: () => void;
      let arrive!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      armed = { gate, arrive };
      return { arrived, open };
    },
  };
}

function bytes(size: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 7919 + (i >> 7)) & 0xff;
  return buffer;
}

function text(size: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/ üß✓';
  let out = '';
  for (let i = 0; out.length < size; i++) out += alphabet[(i * 31 + (i >> 3)) % alphabet.length];
  return out;
}

/** The error a promise rejects with (`undefined` when it resolves). */
function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/**
 * The contract every Cache backend passes, plus the service's policy over it, written once: every
 * operation, missing keys, overwrite, expiry of value, metadata and ACL together, versions (a
 * stale version is refused, concurrent writers lose no update, a replaced value never reaches a
 * reader its new ACL excludes), large values, odd keys; then `CacheService` over the backend:
 * TTL seconds, the one missing-key result, copies, JSON values, metadata merge, the ACL rules.
 * Each test gets a fresh backend from `makeBackend` and disconnects it after.
 *
 * `describeCacheBackend('MyCache', () => new MyCache({ url }, ctx))`
 */
export function describeCacheBackend(
  label: string,
  makeBackend: () => CacheBackend | Promise<CacheBackend>,
  options: CacheBackendSuiteOptions = {},
): void {
  const fakeClock = (options.clock ?? 'fake') === 'fake';
  const skew = fakeClock ? 0 : (options.clockSkewMs ?? 150);
  const largeBytes = options.largeValueBytes ?? 1024 * 1024;
  const test = timedTest(options.timeoutMs);
  /** Registered only with the fake clock: they assert to the millisecond. */
  const precise = (name: string, fn: () => Promise<void>) => {
    if (fakeClock) test(name, fn);
  };
  /** Lets `ms` pass (plus the slack of a real clock). */
  const pass = async (ms: number) => {
    if (fakeClock) jest.advanceTimersByTime(ms);
    else await new Promise((resolve) => setTimeout(resolve, ms + skew));
  };
  const useClock = () => {
    if (!fakeClock) return;
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] }));
    afterEach(() => jest.useRealTimers());
  };

  describe(`${label} (Cache backend contract)`, () => {
    describe('backend', () => {
      const { backend } = useFreshBackend(makeBackend);

      const entry = (value: CacheData, more: Partial<CacheEntry> = {}): CacheEntry => ({
        value,
        acl: ALICE_OWNS,
        metadata: '{}',
        expiresAt: undefined,
        ...more,
      });
      const info = async (key: string): Promise<CacheInfo> => {
        const found = await backend().readInfo(key);
        expect(found).toBeDefined();
        return found!;
      };
      const valueOf = async (key: string) => backend().readValue(key, (await info(key)).version);
      const metadataOf = async (key: string) => backend().readMetadata(key, (await info(key)).version);

      test('answers undefined for a missing key; deleting one is done, updating one is refused', async () => {
        await expect(Promise.resolve(backend().readInfo('missing'))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().readValue('missing', {}))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().readMetadata('missing', {}))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().delete('missing', {}))).resolves.toBe(true);
        await expect(
          Promise.resolve(backend().writeInfo('missing', { acl: ALICE_OWNS, expiresAt: undefined }, {})),
        ).resolves.toBe(false);
        await expect(Promise.resolve(backend().readInfo('missing'))).resolves.toBeUndefined();
      });

      test('creates a key only while none exists (ifVersion undefined)', async () => {
        await expect(
          Promise.resolve(backend().write('k', entry('one', { metadata: '{"a":1}' }), undefined)),
        ).resolves.toBe(true);
        const first = await info('k');
        expect(first.acl.serialize()).toBe(ALICE_OWNS.serialize());
        expect(first.expiresAt).toBeUndefined();
        expect(first.version).not.toBeUndefined();
        expect(await valueOf('k')).toBe('one');
        expect(await metadataOf('k')).toBe('{"a":1}');

        await expect(Promise.resolve(backend().write('k', entry('two'), undefined))).resolves.toBe(false);
        expect(await valueOf('k')).toBe('one');
        expect(await metadataOf('k')).toBe('{"a":1}');
      });

      test('gives back every kind of stored value with its JS type', async () => {
        const values: CacheData[] = [
          '',
          'text',
          'ünïcödé ✓ 密码 🔐\n\t',
          '42',
          'null',
          'true',
          0,
          -1.5,
          42,
          Number.MAX_SAFE_INTEGER,
          true,
          false,
          null,
          Buffer.from([0, 1, 2, 127, 128, 255]),
          Buffer.alloc(0),
          { json: '{"nested":{"deep":[true,null]},"n":1}' },
          { json: '[1,"two"]' },
          { json: '"a JSON string"' },
        ];
        for (const [i, value] of values.entries())
          await expect(Promise.resolve(backend().write(`v${i}`, entry(value), undefined))).resolves.toBe(true);
        for (const [i, value] of values.entries()) {
          const got = await valueOf(`v${i}`);
          if (Buffer.isBuffer(value)) {
            expect(Buffer.isBuffer(got)).toBe(true);
            expect([...(got as Buffer)]).toEqual([...value]);
          } else {
            expect([i, typeof got, got]).toEqual([i, typeof value, value]);
          }
        }
      });

      test('readEntry, when implemented, gives the info and value of one state of the key', async () => {
        const readEntry = backend().readEntry?.bind(backend());
        if (!readEntry) return;
        await expect(Promise.resolve(readEntry('missing'))).resolves.toBeUndefined();
        await backend().write('k', entry(Buffer.from([1, 2, 3]), { metadata: '{"m":1}' }), undefined);
        const first = await readEntry('k');
        expect(first!.info.acl.serialize()).toBe(ALICE_OWNS.serialize());
        expect([...(first!.value as Buffer)]).toEqual([1, 2, 3]);
        await expect(Promise.resolve(backend().readValue('k', first!.info.version))).resolves.toEqual(first!.value);
        await backend().write('k', entry(7, { expiresAt: Date.now() + 60_000 }), first!.info.version);
        const second = await readEntry('k');
        expect(second!.value).toBe(7);
        expect(second!.info.expiresAt).toBeGreaterThan(Date.now());
        await expect(Promise.resolve(backend().readValue('k', first!.info.version))).resolves.toBeUndefined();
      });

      test('replaces at the current version and refuses a stale one everywhere', async () => {
        await backend().write('k', entry('v1', { metadata: '{"v":1}' }), undefined);
        const stale = await info('k');
        await expect(
          Promise.resolve(backend().write('k', entry('v2', { metadata: '{"v":2}' }), stale.version)),
        ).resolves.toBe(true);
        await expect(Promise.resolve(backend().write('k', entry('v3'), stale.version))).resolves.toBe(false);
        await expect(
          Promise.resolve(
            backend().writeInfo('k', { acl: new ACL(), expiresAt: undefined, metadata: '{}' }, stale.version),
          ),
        ).resolves.toBe(false);
        await expect(Promise.resolve(backend().delete('k', stale.version))).resolves.toBe(false);
        await expect(Promise.resolve(backend().readValue('k', stale.version))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().readMetadata('k', stale.version))).resolves.toBeUndefined();
        expect(await valueOf('k')).toBe('v2');
        expect(await metadataOf('k')).toBe('{"v":2}');
        expect((await info('k')).acl.serialize()).toBe(ALICE_OWNS.serialize());
      });

      test('writeInfo replaces ACL and expiry, keeps the value, keeps the metadata unless given, and moves the version', async () => {
        await backend().write('k', entry('v', { metadata: '{"m":1}' }), undefined);
        const before = await info('k');
        const shared = new ACL().grant(alice, 'owner').grant(bob, 'read');
        const later = Date.now() + 3_600_000;
        await expect(
          Promise.resolve(backend().writeInfo('k', { acl: shared, expiresAt: later }, before.version)),
        ).resolves.toBe(true);
        const after = await info('k');
        expect(after.acl.serialize()).toBe(shared.serialize());
        expect(after.expiresAt).toBe(later);
        expect(await valueOf('k')).toBe('v');
        expect(await metadataOf('k')).toBe('{"m":1}');
        await expect(Promise.resolve(backend().write('k', entry('x'), before.version))).resolves.toBe(false);

        await expect(
          Promise.resolve(
            backend().writeInfo('k', { acl: shared, expiresAt: undefined, metadata: '{"m":2}' }, after.version),
          ),
        ).resolves.toBe(true);
        expect(await metadataOf('k')).toBe('{"m":2}');
        expect((await info('k')).expiresAt).toBeUndefined();
        expect(await valueOf('k')).toBe('v');
      });

      test('delete removes value, metadata and ACL; the key can then be created again', async () => {
        await backend().write('k', entry('v', { metadata: '{"m":1}' }), undefined);
        const current = await info('k');
        await expect(Promise.resolve(backend().delete('k', current.version))).resolves.toBe(true);
        await expect(Promise.resolve(backend().readInfo('k'))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().readValue('k', current.version))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().readMetadata('k', current.version))).resolves.toBeUndefined();
        await expect(Promise.resolve(backend().delete('k', current.version))).resolves.toBe(true);
        await expect(Promise.resolve(backend().write('k', entry('again'), undefined))).resolves.toBe(true);
        expect(await valueOf('k')).toBe('again');
      });

      test('keeps the ACL it was given unchanged, and one key per ACL change', async () => {
        const rich = new ACL()
          .grant(alice, 'owner')
          .addAccess('team', 'team-b', ['read', 'write'])
          .addPublicAccess('read')
          .addAccess('user', 'u1', 'write');
        const serialized = rich.serialize();
        await backend().write('k1', entry('v', { acl: rich }), undefined);
        await backend().write('k2', entry('v', { acl: rich }), undefined);
        expect((await info('k1')).acl.serialize()).toBe(serialized);
        await backend().writeInfo('k1', { acl: ALICE_OWNS, expiresAt: undefined }, (await info('k1')).version);
        expect((await info('k1')).acl.serialize()).toBe(ALICE_OWNS.serialize());
        expect((await info('k2')).acl.serialize()).toBe(serialized);
        expect(rich.serialize()).toBe(serialized);
      });

      test('exactly one of two writers at one version wins', async () => {
        const [a, b] = await Promise.all([
          Promise.resolve().then(() => backend().write('new', entry('a'), undefined)),
          Promise.resolve().then(() => backend().write('new', entry('b'), undefined)),
        ]);
        expect([a, b].sort()).toEqual([false, true]);
        expect(await valueOf('new')).toBe(a ? 'a' : 'b');

        const at = (await info('new')).version;
        const results = await Promise.all([
          Promise.resolve().then(() => backend().write('new', entry('c'), at)),
          Promise.resolve().then(() =>
            backend().writeInfo('new', { acl: new ACL().grant(bob, 'owner'), expiresAt: undefined }, at),
          ),
          Promise.resolve().then(() => backend().delete('new', at)),
        ]);
        expect(results.filter(Boolean)).toEqual([true]);
      });

      test('holds large values and metadata', async () => {
        const big = text(largeBytes);
        const blob = bytes(largeBytes);
        const json = JSON.stringify({ list: Array.from({ length: largeBytes >> 6 }, (_, i) => ({ i })) });
        const metadata = JSON.stringify({ note: text(64 * 1024) });
        await backend().write('big', entry(big, { metadata }), undefined);
        await backend().write('blob', entry(blob), undefined);
        await backend().write('json', entry({ json }), undefined);
        expect(await valueOf('big')).toBe(big);
        // Buffer.equals: jest's deep equality walks a megabyte byte by byte for seconds
        const stored = await valueOf('blob');
        expect(Buffer.isBuffer(stored) && stored.equals(blob)).toBe(true);
        expect(await valueOf('json')).toEqual({ json });
        expect(await metadataOf('big')).toBe(metadata);
      });

      test('treats keys as opaque strings, each independent of the others', async () => {
        for (const [i, key] of ODD_KEYS.entries()) await backend().write(key, entry(`value-${i}`), undefined);
        for (const [i, key] of ODD_KEYS.entries()) expect([key, await valueOf(key)]).toEqual([key, `value-${i}`]);
        await backend().delete('a', (await info('a')).version);
        await expect(Promise.resolve(backend().readInfo('a'))).resolves.toBeUndefined();
        expect(await valueOf('a/b')).toBe('value-1');
        expect(await valueOf('a/b/')).toBe('value-2');
      });

      describe('expiry', () => {
        useClock();

        test('an expired key is missing for every operation at once, and may be created again', async () => {
          await backend().write('t', entry('v', { metadata: '{"m":1}', expiresAt: Date.now() + 1_000 }), undefined);
          const live = await info('t');
          expect(live.expiresAt).toBeGreaterThan(Date.now());
          await pass(1_000);
          // first, before a read could clear it: a write decided on the live state must not land
          // once that state has expired
          await expect(Promise.resolve(backend().write('t', entry('late'), live.version))).resolves.toBe(false);
          await expect(Promise.resolve(backend().readInfo('t'))).resolves.toBeUndefined();
          await expect(Promise.resolve(backend().readValue('t', live.version))).resolves.toBeUndefined();
          await expect(Promise.resolve(backend().readMetadata('t', live.version))).resolves.toBeUndefined();
          await expect(
            Promise.resolve(backend().writeInfo('t', { acl: ALICE_OWNS, expiresAt: undefined }, live.version)),
          ).resolves.toBe(false);
          await expect(Promise.resolve(backend().write('t', entry('fresh'), undefined))).resolves.toBe(true);
          expect(await valueOf('t')).toBe('fresh');
          expect(await metadataOf('t')).toBe('{}');
        });

        test('writeInfo sets and clears the expiry', async () => {
          await backend().write('e', entry('v'), undefined);
          await backend().write('p', entry('v', { expiresAt: Date.now() + 1_000 }), undefined);
          await backend().writeInfo('e', { acl: ALICE_OWNS, expiresAt: Date.now() + 1_000 }, (await info('e')).version);
          await backend().writeInfo('p', { acl: ALICE_OWNS, expiresAt: undefined }, (await info('p')).version);
          await pass(1_000);
          await expect(Promise.resolve(backend().readInfo('e'))).resolves.toBeUndefined();
          expect(await valueOf('p')).toBe('v');
        });

        precise('a key is gone at exactly its expiresAt', async () => {
          await backend().write('f', entry('v', { expiresAt: Date.now() + 250 }), undefined);
          await pass(249);
          expect(await backend().readInfo('f')).toBeDefined();
          await pass(1);
          expect(await backend().readInfo('f')).toBeUndefined();
        });
      });
    });

    describe('CacheService over it', () => {
      let backend: CacheBackend;
      let cache: CacheService;

      const context = () => createConnectorContext({ subsystem: 'Cache', connector: label });
      /** The service under test, over `backend` or a wrapper of it (it then owns the lifecycle). */
      const serve = (over: CacheBackend = backend, account: TeamResolver = resolver): CacheService => {
        cache = new CacheService(over, context(), { account });
        return cache;
      };

      beforeEach(async () => {
        backend = await makeBackend();
        serve();
      });

      afterEach(async () => {
        await cache.disconnect();
      });

      describe('values', () => {
        test('sets, gets, checks and deletes values of every supported type', async () => {
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
            numeric: '42',
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

        test('stores a Uint8Array as a Buffer', async () => {
          await cache.requester(alice).set('u8', new Uint8Array([7, 8]));
          const got = await cache.requester(alice).get<Buffer>('u8');
          expect(Buffer.isBuffer(got)).toBe(true);
          expect([...got!]).toEqual([7, 8]);
        });

        test('answers undefined (never throws or null) for a missing key', async () => {
          const a = cache.requester(alice);
          await expect(a.get('missing')).resolves.toBeUndefined();
          await expect(a.exists('missing')).resolves.toBe(false);
          await expect(a.getMetadata('missing')).resolves.toBeUndefined();
          await expect(a.getACL('missing')).resolves.toBeUndefined();
          await expect(a.getTTL('missing')).resolves.toBeUndefined();
          await expect(a.delete('missing')).resolves.toBeUndefined();
        });

        test('replaces the value and metadata on a second set', async () => {
          const a = cache.requester(alice);
          await a.set('k', 'one', undefined, { first: 1 });
          await a.set('k', 'two', undefined, { second: 2 });
          expect(await a.get('k')).toBe('two');
          expect(await a.getMetadata('k')).toEqual({ second: 2 });
        });

        test('rejects invalid keys, undefined and non-serialisable values', async () => {
          const a = cache.requester(alice);
          await expect(a.set('', 'x')).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.get('bad\nkey')).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.get('x'.repeat(1025))).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.exists(42 as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.set('k', undefined as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.set('k', (() => 1) as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.set('k', { n: 1n } as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          const circular: Record<string, unknown> = { a: 1 };
          circular.self = circular;
          await expect(a.set('k', circular)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.set('k', 'v', undefined, { circular })).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.set('k', 'x', undefined, [] as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.exists('k')).resolves.toBe(false);
          const error = (await failure(a.set('k', circular))) as SreInvalidInputError;
          expect([error.subsystem, error.connector]).toEqual(['Cache', label]);
        });

        test('accepts keys with slashes, dots, colons and other odd characters as plain strings', async () => {
          const a = cache.requester(alice);
          for (const [i, key] of ODD_KEYS.entries()) await a.set(key, `value-${i}`);
          for (const [i, key] of ODD_KEYS.entries()) expect([key, await a.get(key)]).toEqual([key, `value-${i}`]);
        });

        test('holds large values', async () => {
          const a = cache.requester(alice);
          const big = text(largeBytes);
          const blob = bytes(largeBytes);
          await a.set('big', big);
          await a.set('blob', blob);
          expect(await a.get('big')).toBe(big);
          const stored = await a.get('blob');
          expect(Buffer.isBuffer(stored) && stored.equals(blob)).toBe(true);
        });
      });

      describe('copies', () => {
        test('round-trips objects through JSON', async () => {
          const a = cache.requester(alice);
          await a.set('json', { when: new Date(0), gone: undefined, fn: () => 1, list: [undefined, 1] } as never);
          expect(await a.get('json')).toEqual({ when: '1970-01-01T00:00:00.000Z', list: [null, 1] });
          await a.set('date', new Date(0) as never);
          expect(await a.get('date')).toBe('1970-01-01T00:00:00.000Z');
        });

        test('never shares value objects with the caller, on set or on get', async () => {
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

        test('copies Buffers and Uint8Arrays in and out', async () => {
          const a = cache.requester(alice);
          const buffer = Buffer.from('abc');
          const u8 = new Uint8Array([1, 2, 3]);
          await a.set('buf', buffer);
          await a.set('u8', u8);
          buffer[0] = 0x7a;
          u8[0] = 9;
          const got = await a.get<Buffer>('buf');
          expect(got!.toString()).toBe('abc');
          got![1] = 0x7a;
          expect((await a.get<Buffer>('buf'))!.toString()).toBe('abc');
          expect([...(await a.get<Buffer>('u8'))!]).toEqual([1, 2, 3]);
        });

        test('returns copies of metadata and of the ACL', async () => {
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

        test('an ACL given to set and changed afterwards changes nothing', async () => {
          const shared = new ACL().grant(bob, 'read');
          await cache.requester(alice).set('k', 'v', shared);
          shared.grant(bob, 'write');
          await expect(cache.requester(bob).set('k', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect(await cache.requester(bob).get('k')).toBe('v');
        });
      });

      describe('TTL (seconds)', () => {
        useClock();

        test('counts down in seconds and expires value, metadata and ACL together', async () => {
          const a = cache.requester(alice);
          await a.set('t', 'v', undefined, { note: 'n' }, 2);
          expect(await a.getTTL('t')).toBe(2);
          await pass(1_200);
          expect(await a.getTTL('t')).toBe(1);
          await expect(cache.requester(bob).set('t', 'squat')).rejects.toBeInstanceOf(SreAccessDeniedError);

          await pass(800);
          await expect(a.exists('t')).resolves.toBe(false);
          await expect(a.get('t')).resolves.toBeUndefined();
          await expect(a.getMetadata('t')).resolves.toBeUndefined();
          await expect(a.getACL('t')).resolves.toBeUndefined();
          await expect(a.getTTL('t')).resolves.toBeUndefined();
          // the expired key's ACL no longer blocks anyone (W54)
          await expect(cache.requester(bob).set('t', 'mine')).resolves.toBe(true);
          expect(await cache.requester(bob).get('t')).toBe('mine');
          expect(await cache.requester(bob).getMetadata('t')).toEqual({});
        });

        test('expires a key nobody looks at (no sweep delay)', async () => {
          const a = cache.requester(alice);
          await a.set('quiet', 'v', undefined, undefined, 1);
          await pass(1_000);
          await expect(cache.requester(bob).getACL('quiet')).resolves.toBeUndefined();
        });

        precise('rounds the remaining time up and accepts fractions of a second', async () => {
          const a = cache.requester(alice);
          await a.set('f', 'v', undefined, undefined, 0.25);
          expect(await a.getTTL('f')).toBe(1);
          await pass(249);
          await expect(a.exists('f')).resolves.toBe(true);
          await pass(1);
          await expect(a.exists('f')).resolves.toBe(false);
        });

        test('updateTTL extends the life of a key and keeps value and metadata', async () => {
          const a = cache.requester(alice);
          await a.set('u', 'v', undefined, { m: 1 }, 1);
          await a.updateTTL('u', 3);
          expect(await a.getTTL('u')).toBe(3);
          await pass(1_500);
          expect(await a.get('u')).toBe('v');
          expect(await a.getMetadata('u')).toEqual({ m: 1 });
          expect(await a.getTTL('u')).toBe(2);
          await pass(1_500);
          await expect(a.exists('u')).resolves.toBe(false);
        });

        test('set without a TTL clears an earlier TTL', async () => {
          const a = cache.requester(alice);
          await a.set('c', 'v1', undefined, undefined, 1);
          await a.set('c', 'v2');
          await expect(a.getTTL('c')).resolves.toBeUndefined();
          await pass(1_500);
          expect(await a.get('c')).toBe('v2');
        });

        test('updateTTL without a TTL makes the key permanent', async () => {
          const a = cache.requester(alice);
          await a.set('p', 'v', undefined, undefined, 1);
          await a.updateTTL('p');
          await expect(a.getTTL('p')).resolves.toBeUndefined();
          await pass(1_500);
          expect(await a.get('p')).toBe('v');
        });

        test('setMetadata and setACL keep the TTL', async () => {
          const a = cache.requester(alice);
          await a.set('k', 'v', undefined, undefined, 2);
          await a.setMetadata('k', { x: 1 });
          await a.setACL('k', new ACL().grant(bob, 'read'));
          expect(await a.getTTL('k')).toBe(2);
          await pass(2_000);
          await expect(a.exists('k')).resolves.toBe(false);
        });

        test('refuses TTLs that are not positive finite seconds, or longer than ten years', async () => {
          const a = cache.requester(alice);
          const tooLong = 10 * 365 * 24 * 3600 + 1;
          for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, tooLong, '10' as never]) {
            await expect(a.set('bad', 'v', undefined, undefined, ttl)).rejects.toBeInstanceOf(SreInvalidInputError);
          }
          await expect(a.exists('bad')).resolves.toBe(false);
          await a.set('ok', 'v', undefined, undefined, tooLong - 1);
          await expect(a.updateTTL('ok', 0)).rejects.toBeInstanceOf(SreInvalidInputError);
          expect(await a.getTTL('ok')).toBe(tooLong - 1);
        });

        test('updateTTL of a missing or expired key is a not-found error', async () => {
          const a = cache.requester(alice);
          await expect(a.updateTTL('nope', 5)).rejects.toBeInstanceOf(SreNotFoundError);
          await a.set('gone', 'v', undefined, undefined, 1);
          await pass(1_000);
          await expect(a.updateTTL('gone', 5)).rejects.toBeInstanceOf(SreNotFoundError);
          await expect(a.exists('gone')).resolves.toBe(false);
        });
      });

      describe('metadata', () => {
        test('stores metadata, drops the reserved acl key, and merges on setMetadata', async () => {
          const a = cache.requester(alice);
          await a.set('m', 'v', undefined, { a: 1, nested: { b: [1, 2] }, acl: 'h:xxh3|a:ffff/o', skip: undefined });
          expect(await a.getMetadata('m')).toEqual({ a: 1, nested: { b: [1, 2] } });
          await a.setMetadata('m', { c: 3, a: 2, acl: 'x' });
          expect(await a.getMetadata('m')).toEqual({ a: 2, nested: { b: [1, 2] }, c: 3 });
          expect(await a.get('m')).toBe('v');
          expect((await a.getACL('m'))!.serialize()).toBe(ALICE_OWNS.serialize());
        });

        test('never grows the ACL on repeated setMetadata (W04)', async () => {
          const a = cache.requester(alice);
          await a.set('g', 'v');
          const before = (await a.getACL('g'))!.serialize();
          for (let i = 0; i < 5; i++) await a.setMetadata('g', { i });
          expect((await a.getACL('g'))!.serialize()).toBe(before);
          expect(await a.getMetadata('g')).toEqual({ i: 4 });
        });

        test('setMetadata on a missing key is a not-found error and creates nothing (W55)', async () => {
          const a = cache.requester(alice);
          await expect(a.setMetadata('missing', { a: 1 })).rejects.toBeInstanceOf(SreNotFoundError);
          await expect(a.exists('missing')).resolves.toBe(false);
          await expect(a.setMetadata('missing', undefined as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await a.set('k', 'v');
          const circular: Record<string, unknown> = {};
          circular.self = circular;
          await expect(a.setMetadata('k', { circular })).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(a.setMetadata('k', [] as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          expect(await a.getMetadata('k')).toEqual({});
        });
      });

      describe('access control', () => {
        test('makes the writer owner and keeps a foreign ACL given to set', async () => {
          const a = cache.requester(alice);
          const shared = new ACL().grant(bob, 'read');
          await a.set('shared', 'v', shared.toJSON(), { why: 'test' });
          const acl = (await a.getACL('shared'))!;
          expect(acl.levelsOf(alice)).toEqual(['owner']);
          expect(acl.levelsOf(bob)).toEqual(['read']);
          expect(await cache.requester(bob).get('shared')).toBe('v');
        });

        test('accepts the ACL in compact form', async () => {
          const a = cache.requester(alice);
          await a.set('compact', 'v', new ACL().grant(bob, ['read', 'write']).serialize());
          await cache.requester(bob).set('compact', 'from bob');
          expect(await a.get('compact')).toBe('from bob');
        });

        test('denies every operation to a candidate without access', async () => {
          await cache.requester(alice).set('private', 'v', undefined, { m: 1 }, 30);
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
            const error = await failure(attempt());
            expect(error).toBeInstanceOf(SreAccessDeniedError);
            expect((error as Error).name).toBe('ACLAccessDeniedError');
            expect((error as SreAccessDeniedError).subsystem).toBe('Cache');
          }
          expect(await cache.requester(alice).get('private')).toBe('v');
          expect(await cache.requester(alice).getMetadata('private')).toEqual({ m: 1 });
          expect(await cache.requester(alice).getTTL('private')).toBe(30);
        });

        test('read sharing grants reads only; write sharing grants writes but not setACL', async () => {
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
          expect(await a.getMetadata('doc')).toEqual({ by: 'bob' });
        });

        test('setACL replaces the ACL but the caller stays owner', async () => {
          const a = cache.requester(alice);
          await a.set('k', 'v', undefined, { m: 1 });
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
          expect(await a.get('k')).toBe('v');
          expect(await a.getMetadata('k')).toEqual({ m: 1 });
        });

        test("changing one key's ACL never changes another key of the same creator", async () => {
          const a = cache.requester(alice);
          await a.set('k1', 'v');
          await a.set('k2', 'v');
          await a.setACL('k1', new ACL().grant(bob, ['read', 'write']));
          await cache.requester(bob).set('k1', 'by bob');
          await a.setMetadata('k1', { x: 1 });
          await expect(cache.requester(bob).get('k2')).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect((await a.getACL('k2'))!.serialize()).toBe(ALICE_OWNS.serialize());
        });

        test('a co-writer rewriting a key cannot evict the owner (W19)', async () => {
          const a = cache.requester(alice);
          const b = cache.requester(bob);
          await a.set('co', 'v1', new ACL().grant(bob, ['read', 'write']));
          await b.set('co', 'v2', new ACL());
          const acl = (await a.getACL('co'))!;
          expect(acl.levelsOf(alice)).toEqual(['owner']);
          // a co-writer's rewrite leaves the ACL as stored: bob keeps read and write, gains nothing
          expect(acl.levelsOf(bob)).toEqual(['read', 'write']);
          expect(await a.get('co')).toBe('v2');
        });

        test('a write grant never becomes ownership: the co-writer who rewrites cannot take the key over', async () => {
          const a = cache.requester(alice);
          const b = cache.requester(bob);
          const carol = AccessCandidate.agent('carol');
          await a.set('doc', 'v1');
          await a.setACL('doc', new ACL().grant(bob, ['read', 'write']));
          await b.set('doc', 'v2');
          const before = (await a.getACL('doc'))!;
          expect(before.levelsOf(bob)).toEqual(['read', 'write']);
          expect(before.levelsOf(alice)).toEqual(['owner']);
          await expect(b.setACL('doc', new ACL().grant(bob, 'owner'))).rejects.toBeInstanceOf(SreAccessDeniedError);
          // an ACL passed with a co-writer's set grants nothing: not to the writer, not to a friend
          await b.set('doc', 'v3', new ACL().grant(bob, 'owner').grant(carol, 'owner'));
          expect((await a.getACL('doc'))!.serialize()).toBe(before.serialize());
          await expect(cache.requester(carol).get('doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect(await a.get('doc')).toBe('v3');
          // the owner still decides: bob goes
          await a.setACL('doc', new ACL());
          await expect(b.set('doc', 'v4')).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect((await a.getACL('doc'))!.levelsOf(bob)).toEqual([]);
        });

        test('an owner’s rewrite sets the given ACL and keeps every other owner', async () => {
          const carol = AccessCandidate.agent('carol');
          await cache.requester(alice).set('co', 'v1', new ACL().grant(carol, 'owner'));
          await cache.requester(carol).set('co', 'v2', new ACL().grant(bob, 'read'));
          const acl = (await cache.requester(alice).getACL('co'))!;
          expect(acl.levelsOf(alice)).toEqual(['owner']);
          expect(acl.levelsOf(carol)).toEqual(['owner']);
          expect(acl.levelsOf(bob)).toEqual(['read']);
        });

        test('a member of a team granted write stays what it was; a member of the owner team is an owner', async () => {
          const carol = AccessCandidate.agent('carol');
          await cache.requester(alice).set('team-w', 'v1', new ACL().addAccess('team', 'team-a', 'write'));
          await cache.requester(carol).set('team-w', 'v2', new ACL().addPublicAccess('read'));
          const acl = (await cache.requester(alice).getACL('team-w'))!;
          expect(acl.levelsOf(carol)).toEqual([]);
          expect(acl.levelsOf(AccessCandidate.team('team-a'))).toEqual(['write']);
          await expect(cache.user('anyone').get('team-w')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(cache.requester(carol).setACL('team-w', new ACL())).rejects.toBeInstanceOf(SreAccessDeniedError);

          await cache.team('team-a').set('team-o', 'v1');
          await cache.requester(carol).set('team-o', 'v2', new ACL().addPublicAccess('read'));
          const owned = (await cache.team('team-a').getACL('team-o'))!;
          expect(owned.levelsOf(AccessCandidate.team('team-a'))).toEqual(['owner']);
          expect(await cache.user('anyone').get('team-o')).toBe('v2');
        });

        test('refuses to create a key named like a reserved folder', async () => {
          const attempts: [AccessCandidate, string][] = [
            [alice, 'teams'],
            [alice, 'users'],
            [alice, 'agents'],
            [alice, 'AGENTS'],
            [alice, 'teams/team-a'],
            [alice, 'teams/team-a.agent'],
            [alice, 'teams/team-a.agent/alice'],
            [AccessCandidate.user('u1'), 'users/u1'],
            [alice, 'agents/alice'],
          ];
          for (const [who, key] of attempts) {
            const error = await failure(cache.requester(who).set(key, 'in the way'));
            expect(error).toBeInstanceOf(SreInvalidInputError);
            expect((error as Error).message).toMatch(/reserved folder/);
            expect(await backend.readInfo(key)).toBeUndefined();
          }
          await cache.requester(alice).set('teams/team-a/x', 'ok');
          await cache.requester(alice).set('teams/team-a.agent/alice/x', 'ok');
          await cache.requester(alice).set('agents/alice/x', 'ok');
          expect(await cache.requester(alice).get('teams/team-a/x')).toBe('ok');
        });

        test('sharing with a team grants the team members, and only them', async () => {
          const a = cache.requester(alice);
          await a.set('team-doc', 'v', new ACL().addAccess('team', 'team-b', 'read'));
          expect(await cache.requester(bob).get('team-doc')).toBe('v');
          await expect(cache.requester(bob).set('team-doc', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(cache.agent('carol').get('team-doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(cache.user('stranger').get('team-doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
        });

        test("a key owned by a team is usable by that team's members", async () => {
          await cache.team('team-a').set('team-owned', 'v');
          expect(await cache.agent('carol').get('team-owned')).toBe('v');
          await cache.agent('carol').set('team-owned', 'v2');
          await expect(cache.agent('bob').get('team-owned')).rejects.toBeInstanceOf(SreAccessDeniedError);
        });

        test('public read access lets anyone read, not write', async () => {
          const a = cache.requester(alice);
          await a.set('pub', 'v', new ACL().addPublicAccess('read'));
          expect(await cache.requester(AccessCandidate.public()).get('pub')).toBe('v');
          expect(await cache.user('anyone').get('pub')).toBe('v');
          await expect(cache.user('anyone').set('pub', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
        });

        test('refuses to let anyone claim keys under another owner’s scope (W07)', async () => {
          await expect(cache.agent('alice').set('teams/team-b/secret', 'squat')).rejects.toBeInstanceOf(
            SreAccessDeniedError,
          );
          await expect(cache.agent('alice').set('teams/team-b.agent/bob/x', 'squat')).rejects.toBeInstanceOf(
            SreAccessDeniedError,
          );
          await expect(cache.agent('alice').set('users/u1/x', 'squat')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(cache.agent('alice').set('agents/bob/x', 'squat')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(cache.agent('alice').get('agents/bob/missing')).rejects.toBeInstanceOf(SreAccessDeniedError);

          await cache.agent('bob').set('teams/team-b/secret', 'ok');
          await cache.team('team-b').set('teams/team-b/other', 'ok');
          await cache.user('u1').set('users/u1/x', 'ok');
          await cache.agent('bob').set('agents/bob/x', 'ok');
          await cache.agent('alice').set('teams/team-a/mine', 'ok');
          expect(await cache.agent('bob').get('teams/team-b/secret')).toBe('ok');
          await expect(cache.agent('alice').get('teams/team-b/secret')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(cache.agent('bob').get('agents/bob/missing')).resolves.toBeUndefined();
        });

        test('with no team resolution only a team itself acts for its team', async () => {
          const bare = serve(backend, OWN_TEAM_ONLY);
          await bare.team('t1').set('shared', 'v', new ACL().addAccess('team', 't1', 'read'));
          await expect(bare.agent('alice').get('shared')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(bare.agent('alice').set('teams/t1/x', 'v')).rejects.toBeInstanceOf(SreAccessDeniedError);
        });

        test('a failing team resolver grants nothing through teams', async () => {
          const failing = serve(backend, { getCandidateTeam: async () => Promise.reject(new Error('account down')) });
          await failing.agent('alice').set('doc', 'v', new ACL().addAccess('team', 'team-b', 'read'));
          await expect(failing.agent('bob').get('doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect(await failing.agent('alice').get('doc')).toBe('v');
        });

        test('hasAccess answers without throwing', async () => {
          await cache.agent('alice').set('h', 'v', new ACL().addAccess('team', 'team-b', 'read'));
          await expect(cache.hasAccess(alice, 'read', 'h')).resolves.toBe(true);
          await expect(cache.hasAccess(bob, 'read', 'h')).resolves.toBe(true);
          await expect(cache.hasAccess(bob, 'write', 'h')).resolves.toBe(false);
          await expect(cache.hasAccess(AccessCandidate.agent('carol'), 'read', 'h')).resolves.toBe(false);
          await expect(cache.hasAccess(alice, 'read', 'bad\nkey')).resolves.toBe(false);
        });
      });

      describe('concurrency', () => {
        test('two candidates creating one key at once: exactly one owns it, the other is denied', async () => {
          // which one commits first is the backend's timing (a disk backend may finish either first)
          const results = await Promise.allSettled([
            cache.agent('alice').set('race', 1),
            cache.agent('bob').set('race', 2),
          ]);
          const winner = results.findIndex((result) => result.status === 'fulfilled');
          expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
          expect((results[1 - winner] as PromiseRejectedResult).reason).toBeInstanceOf(SreAccessDeniedError);
          const [owner, loser] = winner === 0 ? [alice, bob] : [bob, alice];
          expect(await cache.requester(owner).get('race')).toBe(winner + 1);
          expect((await cache.requester(owner).getACL('race'))!.levelsOf(loser)).toEqual([]);
        });

        test('a creation allowed before another creation is refused, then decided again (denied)', async () => {
          const racing = holdable(backend, 'write');
          const raced = serve(racing.backend);
          const held = racing.hold();
          const late = raced.agent('bob').set('race', 'bob');
          await held.arrived;
          // another writer (a second service: another process) gets in between
          await new CacheService(backend, context(), { account: resolver }).agent('alice').set('race', 'alice');
          held.open();
          await expect(late).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect(await raced.agent('alice').get('race')).toBe('alice');
        });

        test('a write allowed before a revocation never outlives the revocation', async () => {
          const racing = holdable(backend, 'write');
          const raced = serve(racing.backend);
          const a = raced.requester(alice);
          await a.set('doc', 'v1', new ACL().grant(bob, ['read', 'write']));
          const held = racing.hold();
          const late = raced.requester(bob).set('doc', 'v2');
          await held.arrived;
          await new CacheService(backend, context(), { account: resolver }).requester(alice).setACL('doc', new ACL());
          held.open();
          await expect(late).rejects.toBeInstanceOf(SreAccessDeniedError);
          const acl = (await a.getACL('doc'))!;
          expect(acl.levelsOf(bob)).toEqual([]);
          expect(acl.levelsOf(alice)).toEqual(['owner']);
          expect(await a.get('doc')).toBe('v1');
        });

        test('a write racing a revocation (both in flight) never outlives it', async () => {
          const a = cache.requester(alice);
          await a.set('doc', 'v1', new ACL().grant(bob, ['read', 'write']));
          const results = await Promise.allSettled([a.setACL('doc', new ACL()), cache.requester(bob).set('doc', 'v2')]);
          expect(results[0].status).toBe('fulfilled');
          const acl = (await a.getACL('doc'))!;
          expect(acl.levelsOf(bob)).toEqual([]);
          expect(acl.levelsOf(alice)).toEqual(['owner']);
          await expect(cache.requester(bob).get('doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
        });

        test('a read allowed on the old ACL never returns a value replaced under a new ACL', async () => {
          const racing = holdable(backend, 'readValue');
          const raced = serve(racing.backend);
          await raced.agent('alice').set('doc', 'public', new ACL().grant(bob, 'read'));
          const held = racing.hold();
          const read = raced.agent('bob').get('doc');
          await held.arrived;
          await raced.agent('alice').set('doc', 'secret', new ACL());
          held.open();
          await expect(read).rejects.toBeInstanceOf(SreAccessDeniedError);
        });

        test('concurrent setMetadata calls lose no update', async () => {
          const racing = holdable(backend, 'writeInfo');
          const raced = serve(racing.backend);
          const a = raced.requester(alice);
          await a.set('m', 'v', undefined, { base: 0 });
          const held = racing.hold();
          const first = a.setMetadata('m', { first: 1 });
          await held.arrived;
          await new CacheService(backend, context(), { account: resolver })
            .requester(alice)
            .setMetadata('m', { second: 2 });
          held.open();
          await first;
          expect(await a.getMetadata('m')).toEqual({ base: 0, first: 1, second: 2 });

          await Promise.all([1, 2, 3, 4].map((i) => a.setMetadata('m', { [`f${i}`]: i })));
          expect(await a.getMetadata('m')).toEqual({ base: 0, first: 1, second: 2, f1: 1, f2: 2, f3: 3, f4: 4 });
          expect(await a.get('m')).toBe('v');
        });

        test('many callers of one service writing one key at once all succeed, one after another', async () => {
          const a = cache.requester(alice);
          const values = Array.from({ length: 50 }, (_, i) => `v${i}`);
          await Promise.all(
            values.map((value, i) => (i % 5 === 4 ? a.setMetadata('hot', { i }) : a.set('hot', value))),
          );
          // queued in call order: the last set wins
          expect(await a.get('hot')).toBe('v48');
          await Promise.all(values.map((_, i) => a.setMetadata('hot', { [`m${i}`]: i })));
          // every merge kept: the first round's `i` and all fifty of this one
          expect(Object.keys((await a.getMetadata('hot'))!).sort()).toEqual(
            ['i', ...values.map((_, i) => `m${i}`)].sort(),
          );
        });

        test('a delete allowed before a change is decided again', async () => {
          const racing = holdable(backend, 'delete');
          const raced = serve(racing.backend);
          const a = raced.requester(alice);
          await a.set('d', 'v1', new ACL().grant(bob, ['read', 'write']));
          const held = racing.hold();
          const late = raced.requester(bob).delete('d');
          await held.arrived;
          await new CacheService(backend, context(), { account: resolver }).requester(alice).setACL('d', new ACL());
          held.open();
          await expect(late).rejects.toBeInstanceOf(SreAccessDeniedError);
          expect(await a.get('d')).toBe('v1');
        });

        test('gives up with a clear error when the key keeps changing under a write or a read', async () => {
          let writes = 0;
          let reads = 0;
          const churning = serve(
            delegate(backend, {
              write: () => {
                writes++;
                return false;
              },
              readValue: () => {
                reads++;
                return undefined;
              },
            }),
          );
          const error = await failure(churning.agent('alice').set('k', 'v'));
          expect(error).toBeInstanceOf(SreBackendError);
          expect((error as Error).message).toBe(
            `Cache(${label}): cache key 'k' kept changing during the write; try again`,
          );
          expect(writes).toBe(MAX_WRITE_ATTEMPTS);

          await backend.write('k', { value: 'v', acl: ALICE_OWNS, metadata: '{}', expiresAt: undefined }, undefined);
          const readError = await failure(churning.agent('alice').get('k'));
          expect(readError).toBeInstanceOf(SreBackendError);
          expect((readError as Error).message).toBe(
            `Cache(${label}): cache key 'k' kept changing during the read; try again`,
          );
          expect(reads).toBe(MAX_WRITE_ATTEMPTS);
        });

        test('wraps what the backend throws, naming the subsystem and connector', async () => {
          const failing = serve(
            delegate(backend, {
              readInfo: () => {
                throw new Error('socket closed');
              },
            }),
          );
          const error = (await failure(failing.agent('alice').get('k'))) as SreBackendError;
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error.message).toBe(`Cache(${label}): reading a cache key: socket closed`);
          expect([error.subsystem, error.connector]).toEqual(['Cache', label]);
        });
      });

      describe('lifecycle', () => {
        test('connects on first use and refuses work once closed', async () => {
          expect(cache.state).toBe('created');
          await cache.agent('alice').set('k', 'v');
          expect(cache.state).toBe('ready');
          await cache.disconnect();
          await expect(cache.agent('alice').get('k')).rejects.toBeInstanceOf(SreUnavailableError);
          await expect(cache.agent('alice').set('k', 'v')).rejects.toBeInstanceOf(SreUnavailableError);
        });
      });
    });
  });
}
