import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createConnectorContext } from '../../core/backend';
import { SreBackendError, SreConfigError, SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { INLINE_FILE_IO, POOLED_FILE_IO } from '../../core/fs/file-io';
import { describeStorageBackend } from '../../testing/storage.contract';
import { StorageService } from '../storage.service';
import { LocalStorageConnector, LocalStorageSettings } from './local-storage.connector';

const account: TeamResolver = {
  getCandidateTeam: async (candidate) =>
    candidate.role === 'team' ? candidate.id : candidate.id === 'eve' ? 'rivals' : 'acme',
};

const alice = AccessCandidate.user('alice');
const bob = AccessCandidate.user('bob');
const carol = AccessCandidate.user('carol');

const context = (dataDir: string) =>
  createConnectorContext({ subsystem: 'Storage', connector: 'LocalStorage', dataDir });

const scratch: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-local-storage-'));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describeStorageBackend('LocalStorage', () => {
  const dir = tmp();
  return new LocalStorageConnector({ folder: path.join(dir, 'storage'), sweepIntervalSeconds: 0 }, context(dir));
});

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
  const open: (StorageService & { local: LocalStorageConnector })[] = [];

  /** A connected StorageService over a LocalStorage connector in the test's folder. */
  async function connector(
    settings: LocalStorageSettings = { sweepIntervalSeconds: 0 },
    dataDir = dir,
  ): Promise<StorageService & { local: LocalStorageConnector }> {
    const local = new LocalStorageConnector(settings, context(dataDir));
    const storage = Object.assign(new StorageService(local, context(dataDir), { account }), { local });
    open.push(storage);
    await storage.connect();
    return storage;
  }

  const dataFile = (id: string) => path.join(folder, 'local', id);
  const metaFile = (id: string) => path.join(folder, '.local.metadata', id);
  const readMeta = (id: string) => JSON.parse(fs.readFileSync(metaFile(id), 'utf8')) as Record<string, string>;
  // leftovers only: not the empty temp file each open connector keeps created ahead
  const temps = () => {
    const spares = new Set(open.map((storage) => storage.local['pairs'].files.spareName));
    return fs.readdirSync(path.join(folder, '.tmp')).filter((name) => !spares.has(name));
  };

  beforeEach(() => {
    dir = tmp();
    folder = path.join(dir, 'storage');
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const c of open.splice(0)) await c.disconnect();
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

    it('defaults to <dataDir>/storage and lays out local/, .local.metadata/, .tmp/ and its README beside them', async () => {
      const storage = await connector();
      expect(storage.local.folder).toBe(folder);
      expect(fs.statSync(path.join(folder, 'local')).isDirectory()).toBe(true);
      expect(fs.statSync(path.join(folder, '.tmp')).isDirectory()).toBe(true);
      expect(fs.readdirSync(path.join(folder, '.local.metadata'))).toEqual([]);
      expect(fs.readFileSync(path.join(folder, 'README_IMPORTANT.txt'), 'utf8')).toMatch(/Do not edit/);
    });

    it('creates a configured folder that does not exist yet (W20) and leaves an existing README alone', async () => {
      const custom = path.join(dir, 'deep', 'er', 'files');
      fs.mkdirSync(path.join(custom, '.local.metadata'), { recursive: true });
      fs.writeFileSync(path.join(custom, 'README_IMPORTANT.txt'), 'my readme');
      fs.writeFileSync(path.join(custom, '.local.metadata', 'README_IMPORTANT.txt'), 'upstream readme');
      const storage = await connector({ folder: custom, sweepIntervalSeconds: 0 });
      await storage.requester(alice).write('x', 'y');
      expect(fs.readFileSync(path.join(custom, 'local', 'x'), 'utf8')).toBe('y');
      expect(fs.readFileSync(path.join(custom, 'README_IMPORTANT.txt'), 'utf8')).toBe('my readme');
      expect(fs.readFileSync(path.join(custom, '.local.metadata', 'README_IMPORTANT.txt'), 'utf8')).toBe(
        'upstream readme',
      );
      expect(fs.existsSync(folder)).toBe(false);
    });

    // Linux: Node's recursive mkdir spins forever at 100% CPU under /proc/self
    (fs.existsSync('/proc/self/status') ? it : it.skip)(
      'refuses a folder on a pseudo file system (/proc) at once, naming settings.folder, instead of hanging',
      async () => {
        for (const custom of ['/proc/self', '/proc/self/storage']) {
          const storage = new LocalStorageConnector({ folder: custom, sweepIntervalSeconds: 0 }, context(dir));
          const error = await storage.connect().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(SreConfigError);
          expect((error as Error).message).toMatch(/settings\.folder is on a pseudo file system \(\/proc, \/sys\)/);
        }
      },
    );

    it('creates missing folders one at a time: a folder where nothing can be created fails with a config error', async () => {
      const mkdir = jest.spyOn(fs.promises, 'mkdir');
      const storage = await connector({ folder: path.join(dir, 'a', 'b', 'c'), sweepIntervalSeconds: 0 });
      expect(storage.local.folder).toBe(path.join(dir, 'a', 'b', 'c'));
      for (const [, options] of mkdir.mock.calls) expect((options as fs.MakeDirectoryOptions)?.recursive).toBeFalsy();
      mkdir.mockImplementation(async () => {
        throw Object.assign(new Error('refused'), { code: 'ENOENT', syscall: 'mkdir' });
      });
      const refused = new LocalStorageConnector({ folder: path.join(dir, 'x', 'y') }, context(dir));
      await expect(refused.connect()).rejects.toThrow(
        /cannot create or write the storage folder given by settings\.folder \(ENOENT\)/,
      );
    });

    it('fails to connect with a clear config error, without the path, when the folder cannot be created', async () => {
      const blocker = path.join(dir, 'a-file');
      fs.writeFileSync(blocker, 'in the way');
      const storage = new LocalStorageConnector({ folder: path.join(blocker, 'storage') }, context(dir));
      const error = await storage.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreConfigError);
      expect((error as Error).message).toMatch(/Storage\(LocalStorage\).*settings\.folder.*ENOTDIR/);
      expect((error as Error).message).not.toContain(dir);
      const defaulted = new LocalStorageConnector({}, context(blocker));
      await expect(defaulted.connect()).rejects.toThrow(/given by the data dir \(dataDir\) \(ENOTDIR\)/);
    });

    it('ping succeeds on a writable folder and fails with a backend error, without the path, when it is not usable', async () => {
      const storage = await connector();
      await expect(storage.ping()).resolves.toBeUndefined();
      fs.rmSync(path.join(folder, '.tmp'), { recursive: true });
      const error = await storage.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreBackendError);
      expect((error as Error).message).toMatch(/checking the folder is writable: ENOENT/);
      expect((error as Error).message).not.toContain(dir);
    });

    it('names the operation and the error code of a file-system failure, never the folder', async () => {
      const me = (await connector()).requester(alice);
      await me.write('locked/doc', 'x');
      fs.chmodSync(path.join(folder, '.local.metadata', 'locked'), 0o000);
      try {
        const error = await me.read('locked/doc').catch((e: unknown) => e);
        // root ignores permissions: then the read simply succeeds
        if (error instanceof Error) {
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error.message).toMatch(/^Storage\(LocalStorage\): reading 'locked\/doc': EACCES$/);
        } else expect(error?.toString()).toBe('x');
      } finally {
        fs.chmodSync(path.join(folder, '.local.metadata', 'locked'), 0o755);
      }
    });

    it('refuses work after disconnect', async () => {
      const storage = await connector();
      await storage.disconnect();
      await expect(storage.requester(alice).read('x')).rejects.toThrow(SreUnavailableError);
    });
  });

  describe('bytes', () => {
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

    it('a stream that fails midway leaves the previous files byte for byte, and no temp file', async () => {
      const me = (await connector()).requester(alice);
      await me.write('doc', 'version 1', undefined, { ContentType: 'text/plain', rev: 1 });
      const before = fs.readFileSync(metaFile('doc'), 'utf8');
      await expect(me.write('doc', failingAfter(50), undefined, { rev: 2 })).rejects.toThrow('client went away');
      expect(fs.readFileSync(dataFile('doc'), 'utf8')).toBe('version 1');
      expect(fs.readFileSync(metaFile('doc'), 'utf8')).toBe(before);
      await expect(me.write('fresh', failingAfter(3))).rejects.toThrow('client went away');
      expect(fs.existsSync(metaFile('fresh'))).toBe(false);
      expect(temps()).toEqual([]);
      await expect(me.write('bad', Readable.from([Buffer.from('ok'), 42]))).rejects.toThrow(SreInvalidInputError);
      expect(temps()).toEqual([]);
    });

    it('flushes every file with fsync unless it is turned off', async () => {
      const sync = jest.spyOn(INLINE_FILE_IO, 'fsync');
      const durable = (await connector()).requester(alice);
      await durable.write('d', 'x');
      expect(sync.mock.calls.length).toBeGreaterThanOrEqual(2);
      sync.mockClear();
      const fast = (
        await connector({ folder: path.join(dir, 'fast'), fsync: false, sweepIntervalSeconds: 0 })
      ).requester(alice);
      await fast.write('f', 'x');
      await fast.setMetadata('f', { a: 1 });
      expect(sync).not.toHaveBeenCalled();
    });

    it('leaves no temp file behind concurrent writers of one id', async () => {
      const me = (await connector()).requester(alice);
      await Promise.all(Array.from({ length: 8 }, (_, i) => me.write('race', `writer ${i}`, undefined, { i })));
      expect(temps()).toEqual([]);
      const bytes = (await me.read('race'))!.toString();
      expect(bytes).toBe(`writer ${(await me.getMetadata('race'))?.i}`);
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

    it('a file with data but no metadata, or with damaged metadata, is accessible to nobody', async () => {
      const storage = await connector();
      const warn = jest.spyOn(storage.local['context'].logger, 'warn').mockImplementation(() => undefined);
      fs.writeFileSync(path.join(folder, 'local', 'orphan-data'), 'x');
      await expect(storage.requester(alice).read('orphan-data')).rejects.toThrow('Access Denied');
      await expect(storage.requester(alice).write('orphan-data', 'y')).rejects.toThrow('Access Denied');
      fs.writeFileSync(dataFile('damaged'), 'x');
      fs.writeFileSync(metaFile('damaged'), '{not json');
      await expect(storage.requester(alice).read('damaged')).rejects.toThrow('Access Denied');
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^'damaged': its metadata is not a JSON object/));
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
      await expect(me.write('c', 'file c')).rejects.toThrow(
        "cannot write 'c': a resource or folder on its path is in the way",
      );
      expect(await me.exists('c')).toBe(false);
      expect((await me.read('a'))?.toString()).toBe('file a');
      expect((await me.read('c/d'))?.toString()).toBe('nested');
      expect(temps()).toEqual([]);
    });

    it.each(['../x', '/etc/passwd', 'a/../../b', 'a\0b', 'a\\..\\b'])(
      'a refused id %j writes nothing outside the folder',
      async (id) => {
        const me = (await connector()).requester(alice);
        const before = fs.readdirSync(path.dirname(dir));
        await expect(me.write(id, 'pwned')).rejects.toThrow(SreInvalidInputError);
        expect(fs.readdirSync(path.dirname(dir))).toEqual(before);
        expect(fs.readdirSync(path.join(folder, 'local'))).toEqual([]);
      },
    );

    it('asserts containment itself when its backend methods are called directly (W22)', async () => {
      const { local } = await connector();
      const head = { acl: new ACL(), metadata: {} };
      for (const id of ['../escape', '../../etc/passwd', '/etc/passwd', 'a/../../x', 'a\0b', '.', '']) {
        await expect(local.stage(id, 'x')).rejects.toThrow(SreInvalidInputError);
        await expect(local.stat(id)).rejects.toThrow(SreInvalidInputError);
        await expect(local.read(id)).rejects.toThrow(SreInvalidInputError);
        await expect(local.readStream(id)).rejects.toThrow(SreInvalidInputError);
        await expect(local.writeHeader(id, head, 'v')).rejects.toThrow(SreInvalidInputError);
        await expect(local.delete(id, 'v')).rejects.toThrow(SreInvalidInputError);
      }
      expect(fs.readdirSync(dir)).toEqual(['storage']);
      expect(fs.readdirSync(folder).sort()).toEqual(['.local.metadata', '.tmp', 'README_IMPORTANT.txt', 'local']);
    });

    it('sees another process replace a file: the version changes and a change decided before is refused', async () => {
      const storage = await connector();
      const { local } = storage;
      await storage.requester(alice).write('shared', 'mine');
      const before = (await local.stat('shared'))!;
      fs.writeFileSync(dataFile('shared'), 'theirs');
      const after = (await local.stat('shared'))!;
      expect(after.version).not.toEqual(before.version);
      expect(await local.writeHeader('shared', { ...before, metadata: { x: 1 } }, before.version)).toBe(false);
      expect(await local.delete('shared', before.version)).toBe(false);
      expect(fs.readFileSync(dataFile('shared'), 'utf8')).toBe('theirs');
    });
  });

  // the order of renames and unlinks is the store's, whichever way its calls run
  describe.each([
    { inlineIo: true, io: INLINE_FILE_IO },
    { inlineIo: false, io: POOLED_FILE_IO },
  ])('crash safety of the data/metadata pair (inlineIo: $inlineIo)', ({ inlineIo, io }) => {
    const pairConnector = () => connector({ sweepIntervalSeconds: 0, inlineIo });

    /** Makes the `nth` rename onto `target` hang forever, as if the process died just before it. */
    function crashBeforeRenameTo(target: string, nth = 1): Promise<void> {
      const rename = io.rename;
      let seen = 0;
      return new Promise((reached) => {
        jest.spyOn(io, 'rename').mockImplementation(async (from, to) => {
          if (to === target && ++seen === nth) {
            reached();
            return new Promise<void>(() => undefined);
          }
          return rename(from, to);
        });
      });
    }

    it('a create that dies between the renames leaves nothing readable, and anyone may create the id', async () => {
      const storage = await pairConnector();
      const crashed = crashBeforeRenameTo(dataFile('new'));
      void storage.requester(alice).write('new', 'never visible');
      await crashed;
      jest.restoreAllMocks();
      expect(fs.existsSync(metaFile('new'))).toBe(true);
      const restarted = await pairConnector();
      expect(await restarted.requester(bob).exists('new')).toBe(false);
      await restarted.requester(bob).write('new', 'bob was here');
      expect((await restarted.requester(bob).getACL('new'))?.checkExactAccess(alice, 'owner')).toBe(false);
    });

    it('a replace that takes a grant away never lets the old reader see new data, nor the new reader old data', async () => {
      const storage = await pairConnector();
      const me = storage.requester(alice);
      await me.write('doc', 'old', new ACL().addAccess('user', 'bob', 'read'));
      const next = new ACL().addAccess('user', 'carol', 'read');

      const beforeData = crashBeforeRenameTo(dataFile('doc'));
      void me.write('doc', 'new', next);
      await beforeData;
      jest.restoreAllMocks();
      let restarted = await pairConnector();
      expect((await restarted.requester(alice).read('doc'))?.toString()).toBe('old');
      await expect(restarted.requester(bob).read('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
      await expect(restarted.requester(carol).read('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });

      const fresh = await pairConnector();
      await fresh.requester(alice).write('doc2', 'old', new ACL().addAccess('user', 'bob', 'read'));
      // the narrowed metadata goes first, then the data: die before the second metadata rename
      const beforeMeta = crashBeforeRenameTo(metaFile('doc2'), 2);
      void fresh.requester(alice).write('doc2', 'new', next);
      await beforeMeta;
      jest.restoreAllMocks();
      expect(fs.readFileSync(dataFile('doc2'), 'utf8')).toBe('new');
      restarted = await pairConnector();
      expect((await restarted.requester(alice).read('doc2'))?.toString()).toBe('new');
      await expect(restarted.requester(bob).read('doc2')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
      await expect(restarted.requester(carol).read('doc2')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    });

    it('a replace that only adds grants needs no intermediate step', async () => {
      const storage = await pairConnector();
      const me = storage.requester(alice);
      await me.write('grow', 'old', new ACL().addAccess('user', 'bob', 'read'));
      const renames: string[] = [];
      const rename = io.rename;
      jest.spyOn(io, 'rename').mockImplementation(async (from, to) => {
        renames.push(String(to));
        return rename(from, to);
      });
      await me.write('grow', 'new', new ACL().addAccess('user', 'bob', 'read').addAccess('user', 'carol', 'read'));
      expect(renames).toEqual([dataFile('grow'), metaFile('grow')]);
      expect((await storage.requester(carol).read('grow'))?.toString()).toBe('new');
    });

    it('a read between the two renames of a replace waits for the pair: never new data with old metadata', async () => {
      const storage = await pairConnector();
      await storage.requester(alice).write('doc', 'v1', undefined, { v: 1 });
      const rename = io.rename;
      let between!: () => void;
      const reached = new Promise<void>((resolve) => (between = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      jest.spyOn(io, 'rename').mockImplementation(async (from, to) => {
        if (to === metaFile('doc')) {
          between();
          await gate;
        }
        return rename(from, to);
      });
      const writing = storage.requester(alice).write('doc', 'v2', undefined, { v: 2 });
      await reached;
      expect(fs.readFileSync(dataFile('doc'), 'utf8')).toBe('v2');
      const reading = Promise.all([
        storage.local.read('doc'),
        storage.local.readStream('doc'),
        storage.local.stat('doc'),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      await writing;
      const [read, streamed, stat] = await reading;
      const pairs = [
        [read?.data.toString(), read?.entry.metadata.v],
        [(await streamed?.stream.toArray())?.join(''), streamed?.entry.metadata.v],
        ['v2', stat?.metadata.v],
      ];
      expect(pairs).toEqual([
        ['v2', 2],
        ['v2', 2],
        ['v2', 2],
      ]);
    });

    it('a delete removes the data first, so a crash in between leaves a deleted resource', async () => {
      const storage = await pairConnector();
      await storage.requester(alice).write('doomed', 'x');
      const unlinks: string[] = [];
      const unlink = io.unlink;
      jest.spyOn(io, 'unlink').mockImplementation(async (file) => {
        unlinks.push(file);
        return unlink(file);
      });
      await storage.requester(alice).delete('doomed');
      expect(unlinks).toEqual([dataFile('doomed'), metaFile('doomed')]);
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
      expect(await storage.local.sweep()).toEqual({ expired: 1, orphans: 1, temps: 1 });
      expect(fs.existsSync(dataFile('old'))).toBe(false);
      expect(fs.existsSync(metaFile('old'))).toBe(false);
      expect(fs.existsSync(metaFile('orphan-old'))).toBe(false);
      expect(fs.existsSync(metaFile('orphan-new'))).toBe(true);
      expect(temps()).toEqual(['busy-writer']);
      expect((await me.read('live'))?.toString()).toBe('y');
      expect((await me.read('forever'))?.toString()).toBe('z');
      expect(fs.existsSync(path.join(folder, 'README_IMPORTANT.txt'))).toBe(true);
    });

    it('an expired resource read through the service is deleted from disk, ACL included', async () => {
      const me = (await connector()).requester(alice);
      await me.write('soon', 'bye');
      await me.expire('soon', 1);
      jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 1_001);
      expect(await me.read('soon')).toBeUndefined();
      expect(fs.existsSync(dataFile('soon'))).toBe(false);
      expect(fs.existsSync(metaFile('soon'))).toBe(false);
    });

    it('the sweep timer removes expired files without anyone touching them, and stops on disconnect', async () => {
      const storage = await connector({ sweepIntervalSeconds: 1 });
      const passes = jest.spyOn(storage.local as unknown as { runSweep(): Promise<unknown> }, 'runSweep');
      await storage.requester(alice).write('ttl', 'x');
      await storage.requester(alice).expire('ttl', 1);
      // the sweep unlinks data, then metadata: wait for both (a look between the two sees one);
      // generous under load, the loop ends as soon as both are gone
      const deadline = Date.now() + 10_000;
      while ((fs.existsSync(dataFile('ttl')) || fs.existsSync(metaFile('ttl'))) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fs.existsSync(dataFile('ttl'))).toBe(false);
      expect(fs.existsSync(metaFile('ttl'))).toBe(false);
      expect(passes).toHaveBeenCalled();
      await storage.disconnect();
      passes.mockClear();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(passes).not.toHaveBeenCalled();
    }, 15_000);

    it('header writes and deletes of a missing resource create nothing', async () => {
      const { local } = await connector();
      const head = { acl: new ACL(), metadata: {}, expiresAt: Date.now() + 1000 };
      expect(await local.writeHeader('nope', head, 'v')).toBe(false);
      expect(await local.delete('nope', 'v')).toBe(true);
      expect(fs.existsSync(metaFile('nope'))).toBe(false);
      expect(fs.existsSync(dataFile('nope'))).toBe(false);
    });
  });
  describe("the library's own files stay out of the ids' namespace", () => {
    it('README_IMPORTANT.txt is an ordinary resource: writing it never touches the README', async () => {
      const storage = await connector();
      const readme = fs.readFileSync(path.join(folder, 'README_IMPORTANT.txt'), 'utf8');
      const me = storage.requester(alice);
      await me.write('README_IMPORTANT.txt', 'user data', undefined, { ContentType: 'text/plain' });
      expect(fs.readFileSync(path.join(folder, 'README_IMPORTANT.txt'), 'utf8')).toBe(readme);
      expect(fs.readFileSync(dataFile('README_IMPORTANT.txt'), 'utf8')).toBe('user data');
      expect(readMeta('README_IMPORTANT.txt').ContentType).toBe('text/plain');
      expect((await me.read('README_IMPORTANT.txt'))?.toString()).toBe('user data');
      await expect(storage.requester(AccessCandidate.user('eve')).read('README_IMPORTANT.txt')).rejects.toThrow(
        'Access Denied',
      );
      await me.expire('README_IMPORTANT.txt', 1);
      jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 2 * 3600_000);
      expect(await storage.local.sweep()).toEqual({ expired: 1, orphans: 0, temps: 0 });
      expect(fs.readFileSync(path.join(folder, 'README_IMPORTANT.txt'), 'utf8')).toBe(readme);
    });

    it("the original's README in .local.metadata is left alone by the sweep, and does not block the id", async () => {
      fs.mkdirSync(path.join(folder, '.local.metadata'), { recursive: true });
      const legacy = metaFile('README_IMPORTANT.txt');
      fs.writeFileSync(legacy, 'This folder holds the metadata ... Do not edit');
      const past = new Date(Date.now() - 2 * 3600_000);
      fs.utimesSync(legacy, past, past);
      const storage = await connector();
      const warn = jest.spyOn(storage.local['context'].logger, 'warn');
      expect(await storage.local.sweep()).toEqual({ expired: 0, orphans: 0, temps: 0 });
      expect(fs.readFileSync(legacy, 'utf8')).toMatch(/Do not edit/);
      const me = storage.requester(alice);
      expect(await me.exists('README_IMPORTANT.txt')).toBe(false);
      expect(warn).not.toHaveBeenCalled();
      await me.write('README_IMPORTANT.txt', 'mine now');
      expect((await me.read('README_IMPORTANT.txt'))?.toString()).toBe('mine now');
    });
  });

  describe('symbolic links in the folder are never followed', () => {
    let outside: string;
    const outsideFiles = () => fs.readdirSync(outside, { recursive: true }).map(String).sort();

    beforeEach(() => {
      outside = tmp();
    });

    it('a linked folder in local/ lets no write, read or delete reach outside', async () => {
      const storage = await connector();
      fs.writeFileSync(path.join(outside, 'victim'), 'outside data');
      fs.symlinkSync(outside, dataFile('evil'));
      fs.mkdirSync(metaFile('evil'));
      fs.writeFileSync(
        metaFile('evil/victim'),
        JSON.stringify({ acl: new ACL().addAccess('user', 'alice', 'owner').serialize() }),
      );
      const me = storage.requester(alice);
      await expect(me.write('evil/new.txt', 'escaped')).rejects.toThrow(SreInvalidInputError);
      await expect(me.write('evil/new.txt', 'escaped')).rejects.toThrow(/symbolic link/);
      await expect(me.write('evil/deeper/new.txt', 'escaped')).rejects.toThrow(SreInvalidInputError);
      await expect(me.read('evil/victim')).rejects.toThrow(SreInvalidInputError);
      await expect(me.readStream('evil/victim')).rejects.toThrow(SreInvalidInputError);
      await expect(me.delete('evil/victim')).rejects.toThrow(SreInvalidInputError);
      await expect(me.setMetadata('evil/victim', { a: 1 })).rejects.toThrow(SreInvalidInputError);
      expect(outsideFiles()).toEqual(['victim']);
      expect(fs.readFileSync(path.join(outside, 'victim'), 'utf8')).toBe('outside data');
      expect(temps()).toEqual([]);
    });

    it('a linked folder in .local.metadata/ lets no write create a file outside', async () => {
      const storage = await connector();
      fs.symlinkSync(outside, metaFile('evil'));
      const me = storage.requester(alice);
      await expect(me.write('evil/new.txt', 'escaped')).rejects.toThrow(SreInvalidInputError);
      await expect(me.write('evil/a/b.txt', 'escaped')).rejects.toThrow(SreInvalidInputError);
      expect(outsideFiles()).toEqual([]);
      expect(fs.existsSync(dataFile('evil/new.txt'))).toBe(false);
    });

    it('a linked file is refused: its target is never read, and replacing it is refused', async () => {
      const storage = await connector();
      fs.writeFileSync(path.join(outside, 'secret'), 'outside secret');
      fs.symlinkSync(path.join(outside, 'secret'), dataFile('link'));
      fs.writeFileSync(
        metaFile('link'),
        JSON.stringify({ acl: new ACL().addAccess('user', 'alice', 'owner').serialize() }),
      );
      const me = storage.requester(alice);
      await expect(me.read('link')).rejects.toThrow(SreInvalidInputError);
      await expect(storage.local.read('link')).rejects.toThrow(SreInvalidInputError);
      await expect(me.write('link', 'replaced')).rejects.toThrow(SreInvalidInputError);
      expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('outside secret');
    });

    it('the sweep follows no link: nothing outside is deleted', async () => {
      const storage = await connector();
      const expired = JSON.stringify({ acl: new ACL().serialize(), expiresAt: '1' });
      fs.mkdirSync(path.join(outside, 'meta'));
      fs.mkdirSync(path.join(outside, 'data'));
      fs.writeFileSync(path.join(outside, 'meta', 'x'), expired);
      fs.writeFileSync(path.join(outside, 'data', 'x'), 'outside data');
      fs.writeFileSync(path.join(outside, 'victim'), expired);
      fs.symlinkSync(path.join(outside, 'meta'), metaFile('linked'));
      fs.symlinkSync(path.join(outside, 'data'), dataFile('linked'));
      fs.symlinkSync(path.join(outside, 'victim'), metaFile('victim'));
      fs.symlinkSync(path.join(outside, 'data', 'x'), dataFile('victim'));
      fs.symlinkSync(outside, path.join(folder, '.tmp', 'old-link'));
      const past = new Date(Date.now() - 2 * 3600_000);
      fs.lutimesSync(path.join(folder, '.tmp', 'old-link'), past, past);
      jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 2 * 3600_000);
      expect(await storage.local.sweep()).toEqual({ expired: 0, orphans: 0, temps: 1 });
      expect(outsideFiles()).toEqual(['data', 'data/x', 'meta', 'meta/x', 'victim']);
      expect(temps()).toEqual([]);
    });

    it('refuses to connect when local/, .local.metadata/ or .tmp/ is a link, and accepts a linked folder itself', async () => {
      for (const sub of ['local', '.local.metadata', '.tmp']) {
        const custom = path.join(tmp(), 'storage');
        fs.mkdirSync(custom);
        fs.symlinkSync(outside, path.join(custom, sub));
        const linked = new LocalStorageConnector({ folder: custom, sweepIntervalSeconds: 0 }, context(dir));
        await expect(linked.connect()).rejects.toThrow(SreConfigError);
        await expect(linked.connect()).rejects.toThrow(
          new RegExp(
            `'${sub.replace('.', '\\.')}' in the storage folder given by settings\\.folder is a symbolic link`,
          ),
        );
      }
      expect(outsideFiles()).toEqual([]);
      const real = tmp();
      const alias = path.join(tmp(), 'alias');
      fs.symlinkSync(real, alias);
      const storage = await connector({ folder: alias, sweepIntervalSeconds: 0 });
      await storage.requester(alice).write('a/b.txt', 'through the alias');
      expect(fs.readFileSync(path.join(real, 'local', 'a', 'b.txt'), 'utf8')).toBe('through the alias');
      expect((await storage.requester(alice).read('a/b.txt'))?.toString()).toBe('through the alias');
    });
  });

  describe('names the file system refuses', () => {
    it('a name longer than the file system allows is bad input naming the reason, not a denial or a backend error', async () => {
      const storage = await connector();
      const { local } = storage;
      const long = 'x'.repeat(256);
      const head = { acl: new ACL(), metadata: {} };
      const attempts: [string, () => Promise<unknown>][] = [
        ['stat', () => local.stat(long)],
        ['read', () => local.read(`a/${long}`)],
        ['readStream', () => local.readStream(`${long}/b`)],
        ['writeHeader', () => local.writeHeader(long, head, 'v')],
        ['delete', () => local.delete(`a/${long}`, 'v')],
        ['stage', () => local.stage(`a/${long}`, 'x')],
      ];
      for (const [what, attempt] of attempts) {
        const error = await attempt().catch((e: unknown) => e);
        expect([what, error]).toEqual([what, expect.any(SreInvalidInputError)]);
        expect((error as Error).message).toMatch(/a path segment is longer than 255 bytes/);
      }
      // a name the file system itself refuses (ENAMETOOLONG) is bad input too
      jest.spyOn(INLINE_FILE_IO, 'lstat').mockRejectedValue(Object.assign(new Error('x'), { code: 'ENAMETOOLONG' }));
      await expect(local.stat('fine')).rejects.toThrow(
        /invalid resource id: .* is longer than the file system allows \(ENAMETOOLONG\)/,
      );
      await expect(storage.requester(alice).write('fine', 'x')).rejects.toThrow(SreInvalidInputError);
      expect(temps()).toEqual([]);
      expect(fs.readdirSync(path.join(folder, 'local'))).toEqual([]);
      expect(fs.readdirSync(path.join(folder, '.local.metadata'))).toEqual([]);
    });

    it('an id whose whole path in the folder is too long is refused as bad input through the service', async () => {
      let deep = dir;
      while (deep.length < 3_300) deep = path.join(deep, 'd'.repeat(200));
      fs.mkdirSync(deep, { recursive: true });
      const storage = await connector({ folder: deep, sweepIntervalSeconds: 0 });
      const id = [1, 2, 3, 4].map((n) => String(n).repeat(250)).join('/');
      const me = storage.requester(alice);
      await expect(me.write(id, 'x')).rejects.toThrow(SreInvalidInputError);
      await expect(me.read(id)).rejects.toThrow(/longer than the file system allows/);
    });
  });
});
