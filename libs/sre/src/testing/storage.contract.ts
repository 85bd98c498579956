import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { MAX_WRITE_ATTEMPTS } from '../security/secure-service';
import type { TeamResolver } from '../security/team-resolver';
import type { StorageBackend, StorageData, StorageEntry, StorageHeader } from '../storage/storage.backend';
import { StorageService } from '../storage/storage.service';
import { useFreshBackend } from './contract-harness';

export interface StorageContractOptions {
  /** Bytes of the large round trip (default 5 MiB + 3). */
  largeBytes?: number;
  /** Also wait out a real one-second TTL (default true). */
  realTimeExpiry?: boolean;
}

/** Users and agents and the team each acts for, as an Account connector would resolve them. */
const MEMBERSHIP: Record<string, string> = {
  'user:alice': 'acme',
  'user:bob': 'acme',
  'agent:helper': 'acme',
  'user:eve': 'rivals',
};

const account: TeamResolver = {
  getCandidateTeam: async (candidate) =>
    candidate.role === 'team' ? candidate.id : MEMBERSHIP[`${candidate.role}:${candidate.id}`],
};

const alice = AccessCandidate.user('alice');
const bob = AccessCandidate.user('bob');
const carol = AccessCandidate.user('carol');
const eve = AccessCandidate.user('eve');

async function collect(stream: Readable | undefined): Promise<Buffer | undefined> {
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** A stream that yields some chunks, then fails. */
function failingAfter(chunks: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < chunks) this.push(Buffer.alloc(1024, 7));
      else this.destroy(new Error('client went away'));
    },
  });
}

/** A stream that yields nothing until `finish` is called; `started` resolves once it is read. */
function heldStream(): { stream: Readable; started: Promise<void>; finish: (data: string) => void } {
  let started!: () => void;
  const whenStarted = new Promise<void>((resolve) => (started = resolve));
  const stream = new Readable({ read: () => started() });
  return {
    stream,
    started: whenStarted,
    finish: (data) => {
      stream.push(data);
      stream.push(null);
    },
  };
}

function header(acl = new ACL().addAccess('user', 'alice', 'owner'), metadata = {}, expiresAt?: number): StorageHeader {
  return { acl, metadata, expiresAt };
}

const denied = (promise: Promise<unknown>) =>
  expect(promise).rejects.toMatchObject({ name: 'ACLAccessDeniedError', message: 'Access Denied' });

const conflict = (reason: unknown) =>
  reason instanceof SreBackendError && /kept changing during the write/.test(reason.message);

/**
 * The Storage contract as a Jest suite: every operation of a `StorageBackend` (missing ids,
 * conditional commits and header writes, versions, expiry, streams, large and odd values, bad
 * input, concurrency), then the access policy of the real `StorageService` over it (owners, grants,
 * teams, reserved scopes, denials, metadata and expiry rules). `makeBackend` builds a fresh, not
 * yet connected backend for each test; the suite connects and disconnects it. Run it from your
 * connector's spec: `describeStorageBackend('MyStore', () => new MyStoreConnector(settings))`.
 */
export function describeStorageBackend(
  label: string,
  makeBackend: () => StorageBackend | Promise<StorageBackend>,
  options: StorageContractOptions = {},
): void {
  const largeBytes = options.largeBytes ?? 5 * 1024 * 1024 + 3;

  describe(`${label}: StorageBackend contract`, () => {
    // mocks are restored before the backend is disconnected
    afterEach(() => {
      jest.restoreAllMocks();
    });
    const { backend } = useFreshBackend(makeBackend);

    /** Stages `data` and commits it with `head` iff at `ifVersion`; the staged bytes are always discarded. */
    async function put(id: string, data: StorageData, head = header(), ifVersion?: unknown): Promise<boolean> {
      const staged = await backend().stage(id, data);
      try {
        return await staged.commit(head, ifVersion);
      } finally {
        await staged.discard();
      }
    }

    async function current(id: string): Promise<StorageEntry> {
      const entry = await backend().stat(id);
      if (!entry) throw new Error(`${id} should exist`);
      return entry;
    }

    it('answers undefined for a missing id, and deleting it is a success', async () => {
      expect(await backend().stat('nothing/here.txt')).toBeUndefined();
      expect(await backend().read('nothing/here.txt')).toBeUndefined();
      expect(await backend().readStream('nothing/here.txt')).toBeUndefined();
      await expect(backend().delete('nothing/here.txt', 'any version')).resolves.toBe(true);
      await expect(backend().writeHeader('nothing/here.txt', header(), 'any version')).resolves.toBe(false);
      expect(await backend().stat('nothing/here.txt')).toBeUndefined();
    });

    it('creates with commit(header, undefined) and gives back the header, size, bytes and version', async () => {
      const acl = new ACL().addAccess('user', 'alice', 'owner').addAccess('team', 'acme', 'read');
      const metadata = { ContentType: 'text/plain', n: 42 };
      expect(await put('docs/a.txt', 'hello', header(acl, metadata))).toBe(true);
      const entry = await current('docs/a.txt');
      expect(entry.acl.serialize()).toBe(acl.serialize());
      expect(entry.metadata).toEqual(metadata);
      expect(entry.expiresAt).toBeUndefined();
      expect(entry.size).toBe(5);
      const read = await backend().read('docs/a.txt');
      expect(read?.data.toString()).toBe('hello');
      expect(read?.entry).toMatchObject({ size: 5, metadata, version: entry.version });
      const streamed = await backend().readStream('docs/a.txt');
      expect(streamed?.entry.version).toBe(entry.version);
      expect((await collect(streamed?.stream))?.toString()).toBe('hello');
    });

    it('keeps staged bytes invisible until they are committed, and discard drops them', async () => {
      const staged = await backend().stage('pending', 'not yet');
      expect(await backend().stat('pending')).toBeUndefined();
      await staged.discard();
      await staged.discard();
      expect(await backend().stat('pending')).toBeUndefined();
      expect(await put('pending', 'now')).toBe(true);
      expect((await backend().read('pending'))?.data.toString()).toBe('now');
    });

    it('commits conditionally: undefined only creates, a stale version is refused, the current one replaces', async () => {
      expect(await put('doc', 'v1', header(undefined, { rev: 1 }))).toBe(true);
      const v1 = await current('doc');
      expect(await put('doc', 'not created', header(undefined, { rev: 0 }))).toBe(false);
      expect(await put('doc', 'v2', header(undefined, { rev: 2 }), v1.version)).toBe(true);
      const v2 = await current('doc');
      expect(v2.version).not.toEqual(v1.version);
      expect(await put('doc', 'stale', header(undefined, { rev: 3 }), v1.version)).toBe(false);
      expect((await backend().read('doc'))?.data.toString()).toBe('v2');
      expect((await current('doc')).metadata).toEqual({ rev: 2 });
      // a staged write refused once may commit again on the version it was decided on
      const staged = await backend().stage('doc', 'v3');
      expect(await staged.commit(header(undefined, { rev: 3 }), v1.version)).toBe(false);
      expect(await staged.commit(header(undefined, { rev: 3 }), v2.version)).toBe(true);
      await staged.discard();
      expect((await backend().read('doc'))?.data.toString()).toBe('v3');
    });

    it('writeHeader keeps the bytes, changes the version, and refuses a stale version and a missing id', async () => {
      await put('h', 'bytes', header(undefined, { a: 1 }));
      const before = await current('h');
      const next = header(new ACL().addAccess('user', 'bob', 'owner'), { b: 2 }, Date.now() + 60_000);
      expect(await backend().writeHeader('h', next, before.version)).toBe(true);
      const after = await current('h');
      expect(after.version).not.toEqual(before.version);
      expect(after).toMatchObject({ metadata: { b: 2 }, expiresAt: next.expiresAt, size: 5 });
      expect(after.acl.serialize()).toBe(next.acl.serialize());
      expect((await backend().read('h'))?.data.toString()).toBe('bytes');
      expect(await backend().writeHeader('h', header(undefined, { c: 3 }), before.version)).toBe(false);
      expect((await current('h')).metadata).toEqual({ b: 2 });
      expect(await backend().writeHeader('ghost', header(), before.version)).toBe(false);
      expect(await backend().stat('ghost')).toBeUndefined();
    });

    it('deletes conditionally', async () => {
      await put('gone', 'x');
      const v1 = await current('gone');
      await put('gone', 'y', header(), v1.version);
      expect(await backend().delete('gone', v1.version)).toBe(false);
      expect((await backend().read('gone'))?.data.toString()).toBe('y');
      expect(await backend().delete('gone', (await current('gone')).version)).toBe(true);
      expect(await backend().stat('gone')).toBeUndefined();
      expect(await backend().read('gone')).toBeUndefined();
      expect(await put('gone', 'again')).toBe(true);
    });

    it('lets exactly one of concurrent commits on one version win, with its own bytes and header', async () => {
      await put('race', 'base');
      const base = (await current('race')).version;
      const staged = await Promise.all(Array.from({ length: 8 }, (_, i) => backend().stage('race', `writer ${i}`)));
      const won = await Promise.all(staged.map((s, i) => s.commit(header(undefined, { writer: i }), base)));
      await Promise.all(staged.map((s) => s.discard()));
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = won.indexOf(true);
      expect((await backend().read('race'))?.data.toString()).toBe(`writer ${winner}`);
      expect((await current('race')).metadata).toEqual({ writer: winner });
      const headers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => backend().writeHeader('race', header(undefined, { h: i }), base)),
      );
      expect(headers.some(Boolean)).toBe(false);
      const now = (await current('race')).version;
      const again = await Promise.all(
        Array.from({ length: 8 }, (_, i) => backend().writeHeader('race', header(undefined, { h: i }), now)),
      );
      expect(again.filter(Boolean)).toHaveLength(1);
      expect((await current('race')).metadata).toEqual({ h: again.indexOf(true) });
    });

    it('lets exactly one of concurrent creates win', async () => {
      const staged = await Promise.all(Array.from({ length: 6 }, (_, i) => backend().stage('fresh', `creator ${i}`)));
      const won = await Promise.all(staged.map((s) => s.commit(header(), undefined)));
      await Promise.all(staged.map((s) => s.discard()));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect((await backend().read('fresh'))?.data.toString()).toBe(`creator ${won.indexOf(true)}`);
    });

    it('reads a version whole: the entry returned with the bytes is theirs while writers replace them', async () => {
      await put('pair', Buffer.alloc(64 * 1024, 0), header(undefined, { fill: 0 }));
      let writing = true;
      let mixed = 0;
      const reader = (async () => {
        while (writing) {
          const read = await backend().read('pair');
          const streamed = await backend().readStream('pair');
          const bytes = await collect(streamed?.stream);
          for (const [entry, data] of [
            [read?.entry, read?.data],
            [streamed?.entry, bytes],
          ] as const) {
            if (!entry || !data || data.length !== entry.size || data.some((b) => b !== entry.metadata.fill)) mixed++;
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      for (let i = 1; i <= 20; i++) {
        const size = (64 + i) * 1024;
        expect(
          await put('pair', Buffer.alloc(size, i), header(undefined, { fill: i }), (await current('pair')).version),
        ).toBe(true);
      }
      writing = false;
      await reader;
      expect(mixed).toBe(0);
    });

    it('treats an expired resource as missing for every operation, and lets a create replace it', async () => {
      await put('soon', 'bye', header(undefined, { a: 1 }, Date.now() + 1_000));
      const entry = await current('soon');
      expect(entry.expiresAt).toBeGreaterThan(Date.now());
      const later = Date.now() + 1_001;
      jest.spyOn(Date, 'now').mockReturnValue(later);
      expect(await backend().stat('soon')).toBeUndefined();
      expect(await backend().read('soon')).toBeUndefined();
      expect(await backend().readStream('soon')).toBeUndefined();
      expect(await backend().writeHeader('soon', header(), entry.version)).toBe(false);
      expect(await put('soon', 'renewed', header(), entry.version)).toBe(false);
      expect(await put('soon', 'renewed', header())).toBe(true);
      expect((await backend().read('soon'))?.data.toString()).toBe('renewed');
      expect((await current('soon')).expiresAt).toBeUndefined();
    });

    it.each([
      ['binary', () => Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))],
      ['empty', () => Buffer.alloc(0)],
      ['large', () => randomBytes(largeBytes)],
    ])('round-trips %s content through read and readStream', async (_name, make) => {
      const bytes = make();
      await put('blob', bytes);
      expect((await backend().read('blob'))?.data.equals(bytes)).toBe(true);
      expect((await collect((await backend().readStream('blob'))?.stream))?.equals(bytes)).toBe(true);
      expect((await current('blob')).size).toBe(bytes.length);
    });

    it('writes strings as UTF-8, Uint8Array views with their offset, and streams of bytes or strings', async () => {
      await put('text', 'héllo ✓');
      expect((await backend().read('text'))?.data.toString('utf8')).toBe('héllo ✓');
      const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
      await put('view', backing.subarray(2, 5));
      expect([...((await backend().read('view'))?.data ?? [])]).toEqual([1, 2, 3]);
      const bytes = randomBytes(3 * 1024 * 1024);
      await put('streamed', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      expect((await backend().read('streamed'))?.data.equals(bytes)).toBe(true);
      await put('strings', Readable.from(['a', 'b', 'ç']));
      expect((await backend().read('strings'))?.data.toString()).toBe('abç');
      await put('nothing', Readable.from([]));
      expect((await current('nothing')).size).toBe(0);
    });

    it('shares no buffer or header with the caller', async () => {
      const source = Buffer.from('original');
      const head = header(undefined, { nested: { list: [1] } });
      await put('own', source, head);
      source.fill(0);
      head.metadata = { replaced: true };
      (await backend().read('own'))!.data.fill(0);
      const entry = await current('own');
      (entry.metadata.nested as { list: number[] }).list.push(2);
      entry.acl.addAccess('user', 'eve', 'owner');
      expect((await backend().read('own'))?.data.toString()).toBe('original');
      const again = await current('own');
      expect(again.metadata).toEqual({ nested: { list: [1] } });
      expect(again.acl.checkExactAccess(eve, 'owner')).toBe(false);
    });

    it('rejects stream chunks that are not bytes with SreInvalidInputError, publishing nothing', async () => {
      await expect(backend().stage('bad', Readable.from([Buffer.from('ok'), 42]))).rejects.toThrow(
        SreInvalidInputError,
      );
      expect(await backend().stat('bad')).toBeUndefined();
    });

    it('rejects a failing source stream with its own error and keeps the previous version', async () => {
      await put('doc', 'version 1', header(undefined, { rev: 1 }));
      const before = await current('doc');
      await expect(backend().stage('doc', failingAfter(50))).rejects.toThrow('client went away');
      await expect(backend().stage('fresh', failingAfter(3))).rejects.toThrow('client went away');
      expect((await backend().read('doc'))?.data.toString()).toBe('version 1');
      expect((await current('doc')).version).toEqual(before.version);
      expect(await backend().stat('fresh')).toBeUndefined();
    });

    it('keeps an open read stream on the version it opened while the resource is replaced and deleted', async () => {
      const v1 = Buffer.alloc(2 * 1024 * 1024, 1);
      await put('pinned', v1, header(undefined, { v: 1 }));
      const opened = await backend().readStream('pinned');
      await put('pinned', Buffer.alloc(1024, 2), header(undefined, { v: 2 }), (await current('pinned')).version);
      await backend().delete('pinned', (await current('pinned')).version);
      expect(opened?.entry).toMatchObject({ size: v1.length, metadata: { v: 1 } });
      expect((await collect(opened?.stream))?.equals(v1)).toBe(true);
    });
  });

  describe(`${label}: StorageService policy`, () => {
    let backend: StorageBackend;
    let storage: StorageService;

    beforeEach(async () => {
      backend = await makeBackend();
      const context = createConnectorContext({ subsystem: 'Storage', connector: label });
      storage = new StorageService(backend, context, { account });
      await storage.connect();
    });

    afterEach(async () => {
      jest.restoreAllMocks();
      await storage.disconnect();
    });

    describe('data', () => {
      it('reads back what was written; a missing id reads as undefined without throwing', async () => {
        const me = storage.requester(alice);
        expect(await me.read('nothing/here.txt')).toBeUndefined();
        expect(await me.readStream('nothing/here.txt')).toBeUndefined();
        expect(await me.readStreamWithStat('nothing/here.txt')).toBeUndefined();
        expect(await me.stat('nothing/here.txt')).toBeUndefined();
        expect(await me.getMetadata('nothing/here.txt')).toBeUndefined();
        expect(await me.getACL('nothing/here.txt')).toBeUndefined();
        expect(await me.exists('nothing/here.txt')).toBe(false);

        await me.write('docs/a.txt', 'hello', undefined, { ContentType: 'text/plain' });
        expect(await me.exists('docs/a.txt')).toBe(true);
        expect((await me.read('docs/a.txt'))?.toString()).toBe('hello');
        expect((await collect(await me.readStream('docs/a.txt')))?.toString()).toBe('hello');
        expect(await me.stat('docs/a.txt')).toEqual({
          size: 5,
          contentType: 'text/plain',
          expiresAt: undefined,
          metadata: { ContentType: 'text/plain' },
        });
        const opened = await me.readStreamWithStat('docs/a.txt');
        expect(opened?.stat).toMatchObject({ size: 5, contentType: 'text/plain' });
        expect((await collect(opened?.stream))?.toString()).toBe('hello');
      });

      it('delete removes the resource; deleting a missing one is a no-op', async () => {
        const me = storage.requester(alice);
        await me.write('x.bin', Buffer.from([1, 2, 3]));
        await me.delete('x.bin');
        expect(await me.exists('x.bin')).toBe(false);
        expect(await me.read('x.bin')).toBeUndefined();
        await expect(me.delete('x.bin')).resolves.toBeUndefined();
      });

      it('user/team/agent shortcuts act as that candidate', async () => {
        await storage.agent('helper').write('agent-file', 'a');
        expect(
          (await storage.agent('helper').getACL('agent-file'))?.checkExactAccess(
            AccessCandidate.agent('helper'),
            'owner',
          ),
        ).toBe(true);
        await expect(storage.user('eve').read('agent-file')).rejects.toThrow(SreAccessDeniedError);
        await storage.team('acme').write('team-file', 't');
        expect((await storage.user('alice').read('team-file'))?.toString()).toBe('t');
      });

      it('rejects data of an unsupported type before touching the backend', async () => {
        const stage = jest.spyOn(backend, 'stage');
        await expect(storage.requester(alice).write('bad', 42 as never)).rejects.toThrow(SreInvalidInputError);
        await expect(storage.requester(alice).write('bad', Readable.from([Buffer.from('ok'), 42]))).rejects.toThrow(
          SreInvalidInputError,
        );
        expect(stage).toHaveBeenCalledTimes(1);
        expect(await storage.requester(alice).exists('bad')).toBe(false);
      });

      it('a source stream that fails rejects with its own error and leaves the previous version', async () => {
        const me = storage.requester(alice);
        await me.write('doc', 'version 1', undefined, { ContentType: 'text/plain', rev: 1 });
        await expect(me.write('doc', failingAfter(50), undefined, { rev: 2 })).rejects.toThrow(
          expect.objectContaining({ message: 'client went away' }),
        );
        expect((await me.read('doc'))?.toString()).toBe('version 1');
        expect(await me.getMetadata('doc')).toEqual({ ContentType: 'text/plain', rev: 1 });
        await expect(me.write('fresh', failingAfter(3))).rejects.toThrow('client went away');
        expect(await me.exists('fresh')).toBe(false);
      });
    });

    describe('metadata', () => {
      it('keeps custom keys of every JSON type, merges on setMetadata and keeps ContentType', async () => {
        const me = storage.requester(alice);
        const nested = { list: [1, 'two', { three: true }], n: null };
        await me.write('m.json', '{}', undefined, {
          ContentType: 'application/json',
          a: 'one',
          nested,
          count: 42,
          flag: false,
          numeric: '42',
          quoted: '"q"',
        });
        await me.setMetadata('m.json', { b: 'two', a: 'uno' });
        expect(await me.getMetadata('m.json')).toEqual({
          ContentType: 'application/json',
          a: 'uno',
          b: 'two',
          nested,
          count: 42,
          flag: false,
          numeric: '42',
          quoted: '"q"',
        });
        expect((await me.stat('m.json'))?.contentType).toBe('application/json');
      });

      it('ignores the reserved acl and expiresAt keys in metadata', async () => {
        const me = storage.requester(alice);
        await me.write('r.txt', 'r', undefined, { acl: 'h:xxh3|u:deadbeef/o', expiresAt: 1, keep: 'yes' });
        await me.setMetadata('r.txt', { acl: 'h:xxh3', expiresAt: 1 });
        expect(await me.getMetadata('r.txt')).toEqual({ keep: 'yes' });
        expect((await me.getACL('r.txt'))?.checkExactAccess(alice, 'owner')).toBe(true);
        expect(await me.read('r.txt')).toBeDefined();
      });

      it('setMetadata, setACL and expire on a missing resource fail and create nothing (W55)', async () => {
        const me = storage.requester(alice);
        await expect(me.setMetadata('ghost', { a: 1 })).rejects.toThrow(SreNotFoundError);
        await expect(me.setACL('ghost', new ACL().addAccess('user', 'bob', 'read'))).rejects.toThrow(SreNotFoundError);
        await expect(me.expire('ghost', 10)).rejects.toThrow(SreNotFoundError);
        expect(await backend.stat('ghost')).toBeUndefined();
        await me.write('ghost', 'now it exists');
        expect((await me.read('ghost'))?.toString()).toBe('now it exists');
      });

      it('rejects metadata that is not a plain object or not JSON-serialisable, before any byte is staged', async () => {
        const me = storage.requester(alice);
        const stage = jest.spyOn(backend, 'stage');
        await expect(me.write('bad', 'x', undefined, [] as never)).rejects.toThrow(SreInvalidInputError);
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        await expect(me.write('bad', 'x', undefined, { circular })).rejects.toThrow(SreInvalidInputError);
        await expect(me.write('bad', 'x', undefined, { big: 10n })).rejects.toThrow(SreInvalidInputError);
        expect(stage).not.toHaveBeenCalled();
        expect(await me.exists('bad')).toBe(false);
      });
    });

    describe('access control', () => {
      it('the writer is owner; setACL without the requester keeps the requester owner', async () => {
        const me = storage.requester(alice);
        await me.write('owned', 'x');
        expect((await me.getACL('owned'))?.checkExactAccess(alice, 'owner')).toBe(true);
        await me.setACL('owned', new ACL().addAccess('user', 'bob', 'read'));
        const acl = await me.getACL('owned');
        expect(acl?.checkExactAccess(alice, 'owner')).toBe(true);
        expect(acl?.checkExactAccess(bob, 'read')).toBe(true);
      });

      it('an ACL given in hashed IACL form reads back with identical team entries', async () => {
        const agent = storage.agent('helper');
        const iacl = new ACL().addAccess('team', 'acme', ['read', 'write']).toJSON();
        await agent.write('shared', 'x');
        await agent.setACL('shared', iacl);
        expect((await agent.getACL('shared'))?.toJSON().entries?.team).toEqual(iacl.entries?.team);
      });

      it('keeps the owner after setACL, setMetadata and a rewrite by a co-writer (W19)', async () => {
        await storage.requester(alice).write('doc', 'v1');
        await storage.requester(alice).setACL('doc', new ACL().addAccess('user', 'bob', ['read', 'write']));
        const asBob = storage.requester(bob);
        await asBob.setMetadata('doc', { by: 'bob' });
        await asBob.write('doc', 'v2', new ACL().addAccess('user', 'bob', 'read'));
        const acl = await asBob.getACL('doc');
        expect(acl?.checkExactAccess(alice, 'owner')).toBe(true);
        // a co-writer's rewrite leaves the ACL as stored: bob keeps read and write, gains nothing
        expect(acl?.levelsOf(bob)).toEqual(['read', 'write']);
        expect((await storage.requester(alice).read('doc'))?.toString()).toBe('v2');
      });

      it('a write grant never becomes ownership: the co-writer who rewrites cannot take the resource over', async () => {
        const asAlice = storage.requester(alice);
        const asBob = storage.requester(bob);
        await asAlice.write('doc', 'v1', undefined, { ContentType: 'text/plain' });
        await asAlice.setACL('doc', new ACL().addAccess('user', 'bob', ['read', 'write']));
        await asBob.write('doc', 'v2');
        const before = (await asAlice.getACL('doc'))!;
        expect(before.levelsOf(bob)).toEqual(['read', 'write']);
        expect(before.checkExactAccess(alice, 'owner')).toBe(true);
        await denied(asBob.setACL('doc', new ACL().addAccess('user', 'bob', 'owner')));
        // an ACL passed with a co-writer's write grants nothing: not to the writer, not to a friend
        await asBob.write('doc', 'v3', new ACL().addAccess('user', 'bob', 'owner').addAccess('user', 'eve', 'owner'));
        const after = (await asAlice.getACL('doc'))!;
        expect(after.serialize()).toBe(before.serialize());
        await denied(storage.requester(eve).read('doc'));
        expect((await asAlice.read('doc'))?.toString()).toBe('v3');
        // the owner still decides: bob goes
        await asAlice.setACL('doc', new ACL());
        await denied(asBob.write('doc', 'v4'));
        expect((await asAlice.getACL('doc'))?.levelsOf(bob)).toEqual([]);
      });

      it('an owner’s rewrite sets the given ACL and keeps every other owner', async () => {
        await storage.requester(alice).write('co', 'v1', new ACL().addAccess('user', 'carol', 'owner'));
        await storage.requester(carol).write('co', 'v2', new ACL().addAccess('user', 'bob', 'read'));
        const acl = (await storage.requester(alice).getACL('co'))!;
        expect(acl.levelsOf(alice)).toEqual(['owner']);
        expect(acl.levelsOf(carol)).toEqual(['owner']);
        expect(acl.levelsOf(bob)).toEqual(['read']);
      });

      it('a team member writing under a team write grant stays what it was', async () => {
        await storage
          .requester(alice)
          .write('teams/acme/shared.txt', 'v1', new ACL().addAccess('team', 'acme', 'write'));
        await storage.requester(bob).write('teams/acme/shared.txt', 'v2', new ACL().addPublicAccess('read'));
        const acl = (await storage.requester(alice).getACL('teams/acme/shared.txt'))!;
        expect(acl.levelsOf(bob)).toEqual([]);
        expect(acl.levelsOf(alice)).toEqual(['owner']);
        expect(acl.levelsOf(AccessCandidate.team('acme'))).toEqual(['write']);
        expect((await storage.requester(alice).read('teams/acme/shared.txt'))?.toString()).toBe('v2');
        await denied(storage.requester(AccessCandidate.public()).read('teams/acme/shared.txt'));
        await denied(storage.requester(bob).setACL('teams/acme/shared.txt', new ACL()));
      });

      it('a rewrite without an ACL keeps the existing grants', async () => {
        await storage.requester(alice).write('keep', 'v1', new ACL().addAccess('user', 'carol', 'read'));
        await storage.requester(alice).write('keep', 'v2');
        expect((await storage.requester(carol).read('keep'))?.toString()).toBe('v2');
      });

      it('denies another team read, write, delete, getMetadata, setMetadata, setACL and expire', async () => {
        await storage.requester(alice).write('private', 'secret', undefined, { ContentType: 'text/plain' });
        const asEve = storage.requester(eve);
        await denied(asEve.read('private'));
        await denied(asEve.readStream('private'));
        await denied(asEve.readStreamWithStat('private'));
        await denied(asEve.write('private', 'overwritten'));
        await denied(asEve.delete('private'));
        await denied(asEve.stat('private'));
        await denied(asEve.getMetadata('private'));
        await denied(asEve.getACL('private'));
        await denied(asEve.setMetadata('private', { x: 1 }));
        await denied(asEve.setACL('private', new ACL()));
        await denied(asEve.exists('private'));
        await denied(asEve.expire('private', 1));
        await expect(asEve.read('private')).rejects.toBeInstanceOf(SreAccessDeniedError);
        expect((await storage.requester(alice).read('private'))?.toString()).toBe('secret');
        expect(await storage.requester(alice).getMetadata('private')).toEqual({ ContentType: 'text/plain' });
      });

      it('a denied writer never stages a byte', async () => {
        await storage.requester(alice).write('private', 'secret');
        const stage = jest.spyOn(backend, 'stage');
        await denied(storage.requester(eve).write('private', Readable.from(['overwritten'])));
        await denied(storage.requester(eve).write('teams/acme/squat', 'x'));
        expect(stage).not.toHaveBeenCalled();
      });

      it('decides a write again at commit: a writer whose rights went while uploading is denied', async () => {
        await storage.requester(alice).write('doc', 'v1', new ACL().addAccess('user', 'bob', 'write'));
        const upload = heldStream();
        const writing = storage.requester(bob).write('doc', upload.stream);
        await upload.started;
        await storage.requester(alice).setACL('doc', new ACL());
        upload.finish('defaced');
        await denied(writing);
        expect((await storage.requester(alice).read('doc'))?.toString()).toBe('v1');
      });

      it('decides a change again when the resource changed between the decision and the commit', async () => {
        await storage.requester(alice).write('doc', 'v1', new ACL().addAccess('user', 'bob', 'write'));
        const writeHeader = backend.writeHeader.bind(backend);
        let revoking: Promise<void> | undefined;
        let landed: string | undefined;
        jest.spyOn(backend, 'writeHeader').mockImplementation(async (id, head, version) => {
          if (!revoking && id === 'doc' && head.metadata.by === 'bob') {
            // the owner revokes bob after bob's access was decided, before his change lands
            revoking = storage
              .requester(alice)
              .setACL('doc', new ACL())
              .then(() => void (landed ??= 'revoke'));
            // a backend with exclusive sections holds the revoke off until bob's change is done
            if (!backend.exclusive) await revoking;
          }
          const done = await writeHeader(id, head, version);
          if (done && head.metadata.by === 'bob') landed ??= 'change';
          return done;
        });
        const changing = storage.requester(bob).setMetadata('doc', { by: 'bob' });
        if (backend.exclusive) {
          // one writer at a time: bob's change, decided first, lands; the revoke lands after it
          await changing;
          await revoking;
          expect(landed).toBe('change');
          expect(await storage.requester(alice).getMetadata('doc')).toEqual({ by: 'bob' });
          await denied(storage.requester(bob).setMetadata('doc', { by: 'bob, again' }));
          return;
        }
        await denied(changing);
        expect(landed).toBe('revoke');
        expect(await storage.requester(alice).getMetadata('doc')).toEqual({});
      });

      it('discards the staged bytes whether the write succeeds or is denied', async () => {
        await storage.requester(alice).write('doc', 'v1', new ACL().addAccess('user', 'bob', 'write'));
        const discards: string[] = [];
        const stage = backend.stage.bind(backend);
        jest.spyOn(backend, 'stage').mockImplementation(async (id, data) => {
          const staged = await stage(id, data);
          return { commit: staged.commit, discard: () => (discards.push(id), staged.discard()) };
        });
        await storage.requester(bob).write('doc', 'v2');
        const upload = heldStream();
        const writing = storage.requester(bob).write('doc', upload.stream);
        await upload.started;
        await storage.requester(alice).setACL('doc', new ACL());
        upload.finish('v3');
        await denied(writing);
        expect(discards).toEqual(['doc', 'doc']);
      });

      it('grants a team read to every member of that team (Account team), and to nobody else', async () => {
        await storage
          .requester(alice)
          .write('teams/acme/report.txt', 'numbers', new ACL().addAccess('team', 'acme', 'read'));
        expect((await storage.requester(bob).read('teams/acme/report.txt'))?.toString()).toBe('numbers');
        expect((await storage.agent('helper').read('teams/acme/report.txt'))?.toString()).toBe('numbers');
        await expect(storage.requester(eve).read('teams/acme/report.txt')).rejects.toThrow(SreAccessDeniedError);
      });

      it('a team member with read only cannot delete, write or set the ACL (W08)', async () => {
        await storage.requester(alice).write('teams/acme/ro.txt', 'keep', new ACL().addAccess('team', 'acme', 'read'));
        const asBob = storage.requester(bob);
        await expect(asBob.delete('teams/acme/ro.txt')).rejects.toThrow(SreAccessDeniedError);
        await expect(asBob.write('teams/acme/ro.txt', 'changed')).rejects.toThrow(SreAccessDeniedError);
        await expect(asBob.setACL('teams/acme/ro.txt', new ACL().addAccess('user', 'bob', 'owner'))).rejects.toThrow(
          SreAccessDeniedError,
        );
        expect((await asBob.read('teams/acme/ro.txt'))?.toString()).toBe('keep');
      });

      it('setACL needs owner: a write grant is not enough', async () => {
        await storage.requester(alice).write('w', 'x', new ACL().addAccess('user', 'bob', 'write'));
        await expect(storage.requester(bob).setACL('w', new ACL().addAccess('user', 'bob', 'owner'))).rejects.toThrow(
          SreAccessDeniedError,
        );
        await expect(storage.requester(bob).write('w', 'y')).resolves.toBeUndefined();
      });

      it('nobody outside a team can claim an id under teams/<team>/ (W07)', async () => {
        await expect(storage.requester(eve).write('teams/acme/squat.txt', 'mine')).rejects.toThrow(
          SreAccessDeniedError,
        );
        await expect(storage.requester(eve).write('users/alice/squat.txt', 'mine')).rejects.toThrow(
          SreAccessDeniedError,
        );
        await storage.requester(alice).write('users/alice/notes.txt', 'mine');
        await storage.team('rivals').write('teams/rivals/plan.txt', 'ours');
        // outsiders cannot even probe another team's scope; insiders see nothing was created
        await expect(storage.requester(eve).exists('teams/acme/squat.txt')).rejects.toThrow(SreAccessDeniedError);
        await expect(storage.requester(eve).delete('teams/acme/squat.txt')).rejects.toThrow(SreAccessDeniedError);
        await expect(storage.requester(eve).setMetadata('teams/acme/x', {})).rejects.toThrow(SreAccessDeniedError);
        expect(await storage.requester(alice).exists('teams/acme/squat.txt')).toBe(false);
      });

      it('refuses to create a resource named like a reserved folder, which would block the whole scope', async () => {
        const stage = jest.spyOn(backend, 'stage');
        const attempts: [AccessCandidate, string][] = [
          [alice, 'teams'],
          [alice, 'users'],
          [alice, 'agents'],
          [alice, 'Teams'],
          [AccessCandidate.team('acme'), 'teams/acme'],
          [alice, 'teams/acme.user'],
          [alice, 'teams/acme.user/alice'],
          [alice, 'users/alice'],
          [AccessCandidate.agent('helper'), 'agents/helper'],
        ];
        for (const [who, id] of attempts) {
          await expect(storage.requester(who).write(id, 'in the way')).rejects.toThrow(SreInvalidInputError);
          await expect(storage.requester(who).write(id, 'in the way')).rejects.toThrow(/reserved folder/);
          expect(await backend.stat(id)).toBeUndefined();
        }
        expect(stage).not.toHaveBeenCalled();
        // every scope stays usable by its owners
        await storage.team('acme').write('teams/acme/report.txt', 'ok');
        await storage.team('rivals').write('teams/rivals/plan.txt', 'ok');
        await storage.requester(alice).write('teams/acme.user/alice/notes.txt', 'ok');
        await storage.requester(alice).write('users/alice/notes.txt', 'ok');
        await storage.agent('helper').write('agents/helper/state.json', 'ok');
        await storage.requester(alice).write('teamster', 'not a scope');
        expect((await storage.team('rivals').read('teams/rivals/plan.txt'))?.toString()).toBe('ok');
      });

      it('public grants are honoured', async () => {
        await storage.requester(alice).write('open.txt', 'hi', new ACL().addPublicAccess('read'));
        expect((await storage.requester(AccessCandidate.public()).read('open.txt'))?.toString()).toBe('hi');
        expect((await storage.requester(eve).read('open.txt'))?.toString()).toBe('hi');
        await expect(storage.requester(eve).write('open.txt', 'no')).rejects.toThrow(SreAccessDeniedError);
      });

      it('a resource stored with an empty ACL is accessible to nobody', async () => {
        const staged = await backend.stage('nobodys', 'x');
        await staged.commit({ acl: new ACL(), metadata: {} }, undefined);
        await staged.discard();
        await expect(storage.requester(alice).read('nobodys')).rejects.toThrow(SreAccessDeniedError);
        await expect(storage.requester(alice).write('nobodys', 'y')).rejects.toThrow(SreAccessDeniedError);
        await expect(storage.team('acme').delete('nobodys')).rejects.toThrow(SreAccessDeniedError);
      });
    });

    describe('ids', () => {
      it.each([
        '../x',
        '/etc/passwd',
        'a/../../b',
        'a\0b',
        '',
        'a//b',
        './a',
        'a\\..\\b',
        'x/',
        'x'.repeat(256),
        `teams/acme/${'é'.repeat(128)}`,
      ])('rejects %j before the backend sees it', async (id) => {
        const me = storage.requester(alice);
        const stat = jest.spyOn(backend, 'stat');
        const stage = jest.spyOn(backend, 'stage');
        await expect(me.write(id, 'pwned')).rejects.toThrow(SreInvalidInputError);
        await expect(me.read(id)).rejects.toThrow(SreInvalidInputError);
        await expect(me.readStream(id)).rejects.toThrow(SreInvalidInputError);
        await expect(me.delete(id)).rejects.toThrow(SreInvalidInputError);
        await expect(me.getMetadata(id)).rejects.toThrow(SreInvalidInputError);
        await expect(me.setACL(id, new ACL())).rejects.toThrow(SreInvalidInputError);
        await expect(me.expire(id, 1)).rejects.toThrow(SreInvalidInputError);
        expect(stat).not.toHaveBeenCalled();
        expect(stage).not.toHaveBeenCalled();
      });
    });

    it('says why a path segment longer than 255 bytes is refused', async () => {
      await expect(storage.requester(alice).write(`a/${'x'.repeat(256)}`, 'x')).rejects.toThrow(
        /invalid resource id: a path segment is longer than 255 bytes/,
      );
      await storage.requester(alice).write(`a/${'x'.repeat(255)}`, 'longest name');
      expect((await storage.requester(alice).read(`a/${'x'.repeat(255)}`))?.toString()).toBe('longest name');
    });

    describe('concurrency', () => {
      it(`${MAX_WRITE_ATTEMPTS} concurrent setMetadata calls on one resource lose no update`, async () => {
        const me = storage.requester(alice);
        await me.write('counter', 'x');
        await Promise.all(
          Array.from({ length: MAX_WRITE_ATTEMPTS }, (_, i) => me.setMetadata('counter', { [`k${i}`]: i })),
        );
        const meta = await me.getMetadata('counter');
        for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) expect(meta?.[`k${i}`]).toBe(i);
      });

      it('under heavy contention every setMetadata is applied or refused loudly, never lost', async () => {
        const me = storage.requester(alice);
        await me.write('counter', 'x');
        const results = await Promise.allSettled(
          Array.from({ length: 40 }, (_, i) => me.setMetadata('counter', { [`k${i}`]: i })),
        );
        const meta = await me.getMetadata('counter');
        expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
        results.forEach((result, i) => {
          if (result.status === 'fulfilled') expect(meta?.[`k${i}`]).toBe(i);
          else expect(conflict(result.reason)).toBe(true);
        });
      });

      it('concurrent writers of one id leave one writer’s data with that writer’s metadata, never a mix', async () => {
        const me = storage.requester(alice);
        await me.write('race', Buffer.alloc(256 * 1024, 0), undefined, { writer: 0 });
        let torn = 0;
        let reading = true;
        const reader = (async () => {
          while (reading) {
            const bytes = await me.read('race');
            if (!bytes || bytes.length !== 256 * 1024 || bytes.some((b) => b !== bytes[0])) torn++;
            // an in-memory backend answers in microtasks: let the writers' timers (retry pauses) run
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        const results = await Promise.allSettled(
          Array.from({ length: 16 }, (_, i) =>
            me.write(
              'race',
              Readable.from([Buffer.alloc(128 * 1024, i + 1), Buffer.alloc(128 * 1024, i + 1)]),
              undefined,
              { writer: i + 1 },
            ),
          ),
        );
        reading = false;
        await reader;
        const bytes = (await me.read('race'))!;
        expect(torn).toBe(0);
        expect(bytes.every((b) => b === bytes[0])).toBe(true);
        expect((await me.getMetadata('race'))?.writer).toBe(bytes[0]);
        expect(results[bytes[0] - 1]?.status).toBe('fulfilled');
        for (const result of results) if (result.status === 'rejected') expect(conflict(result.reason)).toBe(true);
      });

      it(`${MAX_WRITE_ATTEMPTS} concurrent writers all land; the owner stays, co-writers gain nothing`, async () => {
        await storage.requester(alice).write('shared', 'v0', new ACL().addAccess('team', 'acme', 'write'));
        const before = (await storage.requester(alice).getACL('shared'))!.serialize();
        const team = [alice, bob, AccessCandidate.agent('helper')];
        const writers = Array.from({ length: MAX_WRITE_ATTEMPTS }, (_, i) => team[i % team.length]);
        await Promise.all(writers.map((who, i) => storage.requester(who).write('shared', `v${i + 1}`)));
        const acl = (await storage.requester(alice).getACL('shared'))!;
        expect(acl.serialize()).toBe(before);
        expect(acl.checkExactAccess(alice, 'owner')).toBe(true);
        expect(acl.levelsOf(bob)).toEqual([]);
      });
    });

    describe('expiry', () => {
      it('rejects a ttl that is not a positive number', async () => {
        const me = storage.requester(alice);
        await me.write('t', 'x');
        for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5' as never])
          await expect(me.expire('t', ttl)).rejects.toThrow(SreInvalidInputError);
        expect((await me.stat('t'))?.expiresAt).toBeUndefined();
      });

      it('an expired resource reads as missing everywhere and is gone, ACL included', async () => {
        const me = storage.requester(alice);
        await me.write('soon', 'bye', undefined, { ContentType: 'text/plain' });
        await me.expire('soon', 1);
        const stat = await me.stat('soon');
        expect(stat?.expiresAt).toBeGreaterThan(Date.now());
        expect(stat?.expiresAt).toBeLessThanOrEqual(Date.now() + 1_000);
        expect(stat?.metadata).toEqual({ ContentType: 'text/plain' });
        const later = Date.now() + 1_001;
        jest.spyOn(Date, 'now').mockReturnValue(later);
        expect(await me.read('soon')).toBeUndefined();
        expect(await me.readStream('soon')).toBeUndefined();
        expect(await me.exists('soon')).toBe(false);
        expect(await me.stat('soon')).toBeUndefined();
        expect(await me.getMetadata('soon')).toBeUndefined();
        expect(await me.getACL('soon')).toBeUndefined();
        await expect(me.setMetadata('soon', { a: 1 })).rejects.toThrow(SreNotFoundError);
        // the old owner's claim went with it: someone else may now create the id
        await storage.requester(eve).write('soon', 'mine now');
        expect((await storage.requester(eve).read('soon'))?.toString()).toBe('mine now');
        expect((await storage.requester(eve).getACL('soon'))?.checkExactAccess(alice, 'owner')).toBe(false);
      });

      it('a rewrite clears the expiry', async () => {
        const me = storage.requester(alice);
        await me.write('renewed', 'v1');
        await me.expire('renewed', 1);
        await me.write('renewed', 'v2');
        expect((await me.stat('renewed'))?.expiresAt).toBeUndefined();
        jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 5_000);
        expect((await me.read('renewed'))?.toString()).toBe('v2');
      });

      it('setMetadata and setACL keep the expiry; fractions of a second are allowed', async () => {
        const me = storage.requester(alice);
        await me.write('kept', 'v');
        await me.expire('kept', 100.5);
        const expiresAt = (await me.stat('kept'))?.expiresAt;
        await me.setMetadata('kept', { a: 1 });
        await me.setACL('kept', new ACL().addAccess('user', 'bob', 'read'));
        expect((await me.stat('kept'))?.expiresAt).toBe(expiresAt);
      });

      if (options.realTimeExpiry !== false) {
        it('expires after a real 1 s TTL', async () => {
          const me = storage.requester(alice);
          await me.write('real', 'x');
          await me.expire('real', 1);
          expect(await me.exists('real')).toBe(true);
          await new Promise((resolve) => setTimeout(resolve, 1_100));
          expect(await me.read('real')).toBeUndefined();
        });
      }
    });

    describe('lifecycle', () => {
      it('finishes a write admitted before draining, and refuses new work', async () => {
        await storage.requester(alice).write('doc', 'v1');
        const upload = heldStream();
        const writing = storage.requester(alice).write('doc', upload.stream);
        await upload.started;
        storage.drain();
        upload.finish('v2');
        await expect(writing).resolves.toBeUndefined();
        await expect(storage.requester(alice).read('doc')).rejects.toThrow(/shutting down/);
        expect((await backend.read('doc'))?.data.toString()).toBe('v2');
      });
    });
  });
}
