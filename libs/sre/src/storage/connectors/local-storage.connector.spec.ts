import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createConnectorContext } from '../../core/connector';
import { SreBackendError, SreConfigError, SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { LocalStorageConnector, LocalStorageSettings } from './local-storage.connector';

const account: TeamResolver = {
  getCandidateTeam: async (candidate) =>
    candidate.role === 'team' ? candidate.id : candidate.id === 'eve' ? 'rivals' : 'acme',
};

const alice = AccessCandidate.user('alice');
const bob = AccessCandidate.user('bob');
const carol = AccessCandidate.user('carol');

async function collect(stream: Readable | undefined): Promise<Buffer | undefined> {
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `total` bytes in `chunkSize` chunks, each a fresh buffer filled with a byte derived from its index. */
function generated(total: number, chunkSize = 64 * 1024, onRead?: (produced: number) => void): Readable {
  let produced = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      onRead?.(produced);
      if (produced >= total) return void this.push(null);
      const size = Math.min(chunkSize, total - produced);
      this.push(Buffer.alloc(size, (produced / chunkSize) % 251));
      produced += size;
    },
  });
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

describe('LocalStorageConnector', () => {
  let dir: string;
  let folder: string;
  const open: LocalStorageConnector[] = [];

  async function connector(
    settings: LocalStorageSettings = { sweepIntervalSeconds: 0 },
    dataDir = dir,
  ): Promise<LocalStorageConnector> {
    const created = new LocalStorageConnector(
      settings,
      createConnectorContext({ subsystem: 'Storage', connector: 'LocalStorage', dataDir, deps: { account } }),
    );
    open.push(created);
    await created.connect();
    return created;
  }

  const dataFile = (id: string) => path.join(folder, 'local', id);
  const metaFile = (id: string) => path.join(folder, '.local.metadata', id);
  const readMeta = (id: string) => JSON.parse(fs.readFileSync(metaFile(id), 'utf8')) as Record<string, string>;
  const temps = () => fs.readdirSync(path.join(folder, '.tmp'));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-local-storage-'));
    folder = path.join(dir, 'storage');
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const c of open.splice(0)) await c.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('settings and connect', () => {
    it('validates settings and fills the defaults', () => {
      const ok = validateSettings(LocalStorageSettings, { folder: '/srv/files' }, 'Storage(LocalStorage).settings');
      expect(ok.problems).toEqual([]);
      expect(ok.settings).toMatchObject({ folder: '/srv/files', sweepIntervalSeconds: 300, fsync: true });
      const bad = validateSettings(
        LocalStorageSettings,
        { folder: '', sweepIntervalSeconds: -1, fsync: 'yes', bucket: 'x' },
        'Storage(LocalStorage).settings',
      );
      expect(bad.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.folder: /),
          expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.sweepIntervalSeconds: /),
          expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.fsync: /),
          'Storage(LocalStorage).settings.bucket: unknown setting',
        ]),
      );
    });

    it('defaults to <dataDir>/storage and lays out local/, .local.metadata/ with its README, and .tmp/', async () => {
      const storage = await connector();
      expect(storage.folder).toBe(folder);
      expect(fs.statSync(path.join(folder, 'local')).isDirectory()).toBe(true);
      expect(fs.statSync(path.join(folder, '.tmp')).isDirectory()).toBe(true);
      expect(fs.readFileSync(path.join(folder, '.local.metadata', 'README_IMPORTANT.txt'), 'utf8')).toMatch(
        /Do not edit/,
      );
    });

    it('creates a configured folder that does not exist yet (W20) and leaves an existing README alone', async () => {
      const custom = path.join(dir, 'deep', 'er', 'files');
      fs.mkdirSync(path.join(custom, '.local.metadata'), { recursive: true });
      fs.writeFileSync(path.join(custom, '.local.metadata', 'README_IMPORTANT.txt'), 'upstream readme');
      const storage = await connector({ folder: custom, sweepIntervalSeconds: 0 });
      await storage.requester(alice).write('x', 'y');
      expect(fs.readFileSync(path.join(custom, 'local', 'x'), 'utf8')).toBe('y');
      expect(fs.readFileSync(path.join(custom, '.local.metadata', 'README_IMPORTANT.txt'), 'utf8')).toBe(
        'upstream readme',
      );
      expect(fs.existsSync(folder)).toBe(false);
    });

    it('fails to connect with a clear config error, without the path, when the folder cannot be created', async () => {
      const blocker = path.join(dir, 'a-file');
      fs.writeFileSync(blocker, 'in the way');
      const storage = new LocalStorageConnector(
        { folder: path.join(blocker, 'storage') },
        createConnectorContext({ subsystem: 'Storage', connector: 'LocalStorage', dataDir: dir }),
      );
      const error = await storage.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreConfigError);
      expect((error as Error).message).toMatch(/Storage\(LocalStorage\).*settings\.folder.*ENOTDIR/);
      expect((error as Error).message).not.toContain(dir);
    });

    it('ping succeeds on a writable folder and fails with a backend error when it is not usable', async () => {
      const storage = await connector();
      await expect(storage.ping()).resolves.toBeUndefined();
      fs.rmSync(path.join(folder, '.tmp'), { recursive: true });
      await expect(storage.ping()).rejects.toThrow(SreBackendError);
    });

    it('refuses work after disconnect', async () => {
      const storage = await connector();
      await storage.disconnect();
      await expect(storage.requester(alice).read('x')).rejects.toThrow(SreUnavailableError);
      await expect(storage['readResource']('x')).rejects.toThrow(SreUnavailableError);
    });
  });

  describe('bytes', () => {
    it.each([
      ['binary', Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))],
      ['empty', Buffer.alloc(0)],
      ['multi-MB', randomBytes(5 * 1024 * 1024 + 3)],
    ])('round-trips %s content through read and readStream', async (_name, bytes) => {
      const me = (await connector()).requester(alice);
      await me.write('blob', bytes);
      expect((await me.read('blob'))?.equals(bytes)).toBe(true);
      expect((await collect(await me.readStream('blob')))?.equals(bytes)).toBe(true);
      expect((await me.stat('blob'))?.size).toBe(bytes.length);
    });

    it('writes strings as UTF-8 and Uint8Array views with their offset', async () => {
      const me = (await connector()).requester(alice);
      await me.write('text', 'héllo ✓');
      expect((await me.read('text'))?.toString('utf8')).toBe('héllo ✓');
      const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
      await me.write('view', backing.subarray(2, 5));
      expect([...((await me.read('view')) ?? [])]).toEqual([1, 2, 3]);
    });

    it('writes a stream input, including string chunks and an empty stream', async () => {
      const me = (await connector()).requester(alice);
      const bytes = randomBytes(3 * 1024 * 1024);
      await me.write('streamed', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      expect((await me.read('streamed'))?.equals(bytes)).toBe(true);
      await me.write('strings', Readable.from(['a', 'b', 'ç']));
      expect((await me.read('strings'))?.toString()).toBe('abç');
      await me.write('nothing', Readable.from([]));
      expect((await me.read('nothing'))?.length).toBe(0);
    });

    it('rejects data of an unsupported type and stream chunks that are not bytes, writing nothing', async () => {
      const me = (await connector()).requester(alice);
      await expect(me.write('bad', 42 as never)).rejects.toThrow(SreInvalidInputError);
      await expect(me.write('bad', Readable.from([Buffer.from('ok'), 42]))).rejects.toThrow(SreInvalidInputError);
      expect(await me.exists('bad')).toBe(false);
      expect(temps()).toEqual([]);
    });

    it('pipes a stream to disk with backpressure: the source never runs more than a few MB ahead of the file', async () => {
      const me = (await connector({ sweepIntervalSeconds: 0, fsync: false })).requester(alice);
      const total = 48 * 1024 * 1024;
      let maxAhead = 0;
      const source = generated(total, 256 * 1024, (produced) => {
        const [temp] = temps();
        const onDisk = temp ? fs.statSync(path.join(folder, '.tmp', temp)).size : 0;
        maxAhead = Math.max(maxAhead, produced - onDisk);
      });
      await me.write('big', source);
      expect((await me.stat('big'))?.size).toBe(total);
      expect(maxAhead).toBeLessThan(4 * 1024 * 1024);
    });

    it('a stream that fails midway leaves the previous content and metadata, and no temp file', async () => {
      const me = (await connector()).requester(alice);
      await me.write('doc', 'version 1', undefined, { ContentType: 'text/plain', rev: 1 });
      const before = fs.readFileSync(metaFile('doc'), 'utf8');
      await expect(me.write('doc', failingAfter(50), undefined, { rev: 2 })).rejects.toThrow('client went away');
      expect((await me.read('doc'))?.toString()).toBe('version 1');
      expect(fs.readFileSync(metaFile('doc'), 'utf8')).toBe(before);
      expect(temps()).toEqual([]);
      await expect(me.write('fresh', failingAfter(3))).rejects.toThrow('client went away');
      expect(await me.exists('fresh')).toBe(false);
      expect(fs.existsSync(metaFile('fresh'))).toBe(false);
    });

    it('an open read stream keeps the version it opened while the resource is replaced or deleted', async () => {
      const me = (await connector()).requester(alice);
      const v1 = Buffer.alloc(2 * 1024 * 1024, 1);
      await me.write('pinned', v1);
      const stream = await me.readStream('pinned');
      await me.write('pinned', Buffer.alloc(1024, 2));
      await me.delete('pinned');
      expect((await collect(stream))?.equals(v1)).toBe(true);
    });
  });

  describe('on-disk layout [compat]', () => {
    it('stores data at local/<id> and a JSON object of strings at .local.metadata/<id>', async () => {
      const storage = await connector();
      const me = storage.requester(alice);
      await me.write('teams/acme/dir/f.txt', 'content', new ACL().addAccess('team', 'acme', 'read'), {
        ContentType: 'text/plain',
        nested: { a: [1, 2] },
        count: 3,
      });
      await me.expire('teams/acme/dir/f.txt', 60);
      expect(fs.readFileSync(dataFile('teams/acme/dir/f.txt'), 'utf8')).toBe('content');
      const meta = readMeta('teams/acme/dir/f.txt');
      expect(Object.values(meta).every((v) => typeof v === 'string')).toBe(true);
      expect(meta.ContentType).toBe('text/plain');
      expect(meta.nested).toBe('{"a":[1,2]}');
      expect(meta.count).toBe('3');
      expect(Number(meta.expiresAt)).toBeGreaterThan(Date.now());
      const acl = ACL.parse(meta.acl);
      expect(meta.acl).toBe(acl.serialize());
      expect(acl.checkExactAccess(alice, 'owner')).toBe(true);
      expect(acl.allowsTeam('acme', 4)).toBe(true);
      expect(temps()).toEqual([]);
    });

    it('reads resources written by the original (compact ACL, JSON-encoded values)', async () => {
      fs.mkdirSync(path.join(folder, 'local', 'old'), { recursive: true });
      fs.mkdirSync(path.join(folder, '.local.metadata', 'old'), { recursive: true });
      fs.writeFileSync(dataFile('old/file.txt'), 'from upstream');
      const acl = new ACL().addAccess('agent', 'agent1', 'owner').addAccess('team', 'acme', 'read');
      fs.writeFileSync(
        metaFile('old/file.txt'),
        JSON.stringify({ ContentType: 'text/plain', acl: acl.serialize(), custom: '{"x":1}' }),
      );
      const storage = await connector();
      const agent = storage.requester(AccessCandidate.agent('agent1'));
      expect((await agent.read('old/file.txt'))?.toString()).toBe('from upstream');
      expect(await agent.getMetadata('old/file.txt')).toEqual({ ContentType: 'text/plain', custom: { x: 1 } });
      expect((await storage.requester(bob).read('old/file.txt'))?.toString()).toBe('from upstream');
    });

    it('delete removes both files', async () => {
      const me = (await connector()).requester(alice);
      await me.write('gone/x', 'x');
      await me.delete('gone/x');
      expect(fs.existsSync(dataFile('gone/x'))).toBe(false);
      expect(fs.existsSync(metaFile('gone/x'))).toBe(false);
    });

    it('refuses an id whose path is blocked by another resource, leaving that resource intact', async () => {
      const me = (await connector()).requester(alice);
      await me.write('a', 'file a');
      await expect(me.write('a/b', 'nested')).rejects.toThrow(SreInvalidInputError);
      expect(await me.read('a/b')).toBeUndefined();
      await me.write('c/d', 'nested');
      await expect(me.write('c', 'file c')).rejects.toThrow(SreInvalidInputError);
      expect(await me.exists('c')).toBe(false);
      expect((await me.read('a'))?.toString()).toBe('file a');
      expect((await me.read('c/d'))?.toString()).toBe('nested');
      expect(temps()).toEqual([]);
    });

    it('asserts containment itself when its backend methods are called directly (W22)', async () => {
      const storage = await connector();
      for (const id of ['../escape', '../../etc/passwd', '/etc/passwd', 'a/../../x', 'a\0b', '.', '']) {
        await expect(storage['writeResource'](id, 'x', new ACL(), {})).rejects.toThrow(SreInvalidInputError);
        await expect(storage['readResource'](id)).rejects.toThrow(SreInvalidInputError);
        await expect(storage['deleteResource'](id)).rejects.toThrow(SreInvalidInputError);
      }
      expect(fs.readdirSync(dir)).toEqual(['storage']);
      expect(fs.readdirSync(folder).sort()).toEqual(['.local.metadata', '.tmp', 'local']);
    });
  });

  describe('concurrency', () => {
    it('concurrent writers of one id leave one writer’s data with that writer’s metadata, never a mix', async () => {
      const storage = await connector();
      const me = storage.requester(alice);
      await me.write('race', Buffer.alloc(256 * 1024, 0), undefined, { writer: 0 });
      let torn = 0;
      let reading = true;
      const reader = (async () => {
        while (reading) {
          const bytes = await me.read('race');
          if (!bytes || bytes.length !== 256 * 1024 || bytes.some((b) => b !== bytes[0])) torn++;
        }
      })();
      await Promise.all(
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
      expect(temps()).toEqual([]);
    });

    it('concurrent setMetadata calls lose no update', async () => {
      const me = (await connector()).requester(alice);
      await me.write('counter', 'x');
      await Promise.all(Array.from({ length: 40 }, (_, i) => me.setMetadata('counter', { [`k${i}`]: i })));
      const meta = await me.getMetadata('counter');
      for (let i = 0; i < 40; i++) expect(meta?.[`k${i}`]).toBe(i);
    });
  });

  describe('crash safety of the data/metadata pair', () => {
    /** Makes the `nth` rename onto `target` hang forever, as if the process died just before it. */
    function crashBeforeRenameTo(target: string, nth = 1): Promise<void> {
      const rename = fs.promises.rename;
      let seen = 0;
      return new Promise((reached) => {
        jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
          if (to === target && ++seen === nth) {
            reached();
            return new Promise<void>(() => undefined);
          }
          return rename(from, to);
        });
      });
    }

    it('a create that dies between the renames leaves nothing readable, and anyone may create the id', async () => {
      const storage = await connector();
      const crashed = crashBeforeRenameTo(dataFile('new'));
      void storage.requester(alice).write('new', 'never visible');
      await crashed;
      jest.restoreAllMocks();
      expect(fs.existsSync(metaFile('new'))).toBe(true);
      const restarted = await connector();
      expect(await restarted.requester(bob).exists('new')).toBe(false);
      await restarted.requester(bob).write('new', 'bob was here');
      expect((await restarted.requester(bob).getACL('new'))?.checkExactAccess(alice, 'owner')).toBe(false);
    });

    it('a replace that takes a grant away never lets the old reader see new data, nor the new reader old data', async () => {
      const storage = await connector();
      const me = storage.requester(alice);
      await me.write('doc', 'old', new ACL().addAccess('user', 'bob', 'read'));
      const next = new ACL().addAccess('user', 'carol', 'read');

      const beforeData = crashBeforeRenameTo(dataFile('doc'));
      void me.write('doc', 'new', next);
      await beforeData;
      jest.restoreAllMocks();
      let restarted = await connector();
      expect((await restarted.requester(alice).read('doc'))?.toString()).toBe('old');
      await expect(restarted.requester(bob).read('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
      await expect(restarted.requester(carol).read('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });

      const fresh = await connector();
      await fresh.requester(alice).write('doc2', 'old', new ACL().addAccess('user', 'bob', 'read'));
      // the narrowed metadata goes first, then the data: die before the second metadata rename
      const beforeMeta = crashBeforeRenameTo(metaFile('doc2'), 2);
      void fresh.requester(alice).write('doc2', 'new', next);
      await beforeMeta;
      jest.restoreAllMocks();
      expect(fs.readFileSync(dataFile('doc2'), 'utf8')).toBe('new');
      restarted = await connector();
      expect((await restarted.requester(alice).read('doc2'))?.toString()).toBe('new');
      await expect(restarted.requester(bob).read('doc2')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
      await expect(restarted.requester(carol).read('doc2')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    });

    it('a replace that only adds grants needs no intermediate step', async () => {
      const storage = await connector();
      const me = storage.requester(alice);
      await me.write('grow', 'old', new ACL().addAccess('user', 'bob', 'read'));
      const renames: string[] = [];
      const rename = fs.promises.rename;
      jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
        renames.push(String(to));
        return rename(from, to);
      });
      await me.write('grow', 'new', new ACL().addAccess('user', 'bob', 'read').addAccess('user', 'carol', 'read'));
      expect(renames).toEqual([dataFile('grow'), metaFile('grow')]);
      expect((await storage.requester(carol).read('grow'))?.toString()).toBe('new');
    });
  });

  describe('expiry and sweep', () => {
    it('sweep() deletes expired resources, old orphaned metadata and stale temp files, and keeps the rest', async () => {
      const storage = await connector();
      const me = storage.requester(alice);
      await me.write('old', 'x');
      await me.expire('old', 1);
      await me.write('live', 'y');
      await me.expire('live', 3600);
      await me.write('forever', 'z');
      fs.writeFileSync(metaFile('orphan-old'), JSON.stringify({ acl: 'h:xxh3' }));
      fs.writeFileSync(metaFile('orphan-new'), JSON.stringify({ acl: 'h:xxh3' }));
      const past = new Date(Date.now() - 2 * 3600_000);
      fs.utimesSync(metaFile('orphan-old'), past, past);
      fs.writeFileSync(path.join(folder, '.tmp', 'dead-writer'), 'partial');
      fs.utimesSync(path.join(folder, '.tmp', 'dead-writer'), past, past);
      fs.writeFileSync(path.join(folder, '.tmp', 'busy-writer'), 'partial');

      const now = Date.now() + 2_000;
      jest.spyOn(Date, 'now').mockReturnValue(now);
      expect(await storage.sweep()).toEqual({ expired: 1, orphans: 1, temps: 1 });
      expect(fs.existsSync(dataFile('old'))).toBe(false);
      expect(fs.existsSync(metaFile('old'))).toBe(false);
      expect(fs.existsSync(metaFile('orphan-old'))).toBe(false);
      expect(fs.existsSync(metaFile('orphan-new'))).toBe(true);
      expect(temps()).toEqual(['busy-writer']);
      expect((await me.read('live'))?.toString()).toBe('y');
      expect((await me.read('forever'))?.toString()).toBe('z');
      expect(fs.existsSync(path.join(folder, '.local.metadata', 'README_IMPORTANT.txt'))).toBe(true);
    });

    it('the sweep timer removes expired files without anyone touching them, and stops on disconnect', async () => {
      const storage = await connector({ sweepIntervalSeconds: 1 });
      await storage.requester(alice).write('ttl', 'x');
      await storage.requester(alice).expire('ttl', 1);
      const deadline = Date.now() + 4_000;
      while (fs.existsSync(dataFile('ttl')) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fs.existsSync(dataFile('ttl'))).toBe(false);
      expect(fs.existsSync(metaFile('ttl'))).toBe(false);
      const spy = jest.spyOn(storage, 'sweep');
      await storage.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(spy).not.toHaveBeenCalled();
    });

    it('expireResource on a missing resource creates nothing', async () => {
      const storage = await connector();
      await storage['expireResource']('nope', Date.now() + 1000);
      expect(fs.existsSync(metaFile('nope'))).toBe(false);
      expect(await storage['updateResource']('nope', (h) => h)).toBe(false);
      expect(fs.existsSync(metaFile('nope'))).toBe(false);
    });
  });
});
