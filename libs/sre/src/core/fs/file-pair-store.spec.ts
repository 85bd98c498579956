import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SreInvalidInputError } from '../errors';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { AtomicFiles } from './atomic-file';
import { ConcurrentChangeError, FilePairStore } from './file-pair-store';
import type { StoredHeader } from './header-codec';

const owner = (id: string) => new ACL().addAccess('user', id, 'owner');
const header = (acl = owner('alice'), metadata: Record<string, unknown> = {}, expiresAt?: number): StoredHeader => ({
  acl,
  metadata,
  expiresAt,
});

describe('FilePairStore', () => {
  let dir: string;
  let store: FilePairStore;
  const warn = jest.fn();
  const data = (key: string) => path.join(dir, 'data', key);
  const meta = (key: string) => path.join(dir, 'meta', key);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-pairs-'));
    for (const sub of ['data', 'meta', 'tmp']) fs.mkdirSync(path.join(dir, sub));
    store = new FilePairStore({
      dataRoot: path.join(dir, 'data'),
      metaRoot: path.join(dir, 'meta'),
      files: new AtomicFiles(path.join(dir, 'tmp'), false),
      warn,
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
    warn.mockReset();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function put(key: string, text: string, head = header(), ifVersion?: string): Promise<boolean> {
    const spooled = await store.files.spool(text);
    try {
      return await store.commit(key, spooled.path, head, ifVersion);
    } finally {
      await store.files.drop(spooled.path);
    }
  }

  it('creates metadata first, then data, and reads the pair back with a version', async () => {
    const renames: string[] = [];
    const rename = fs.promises.rename;
    jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      renames.push(String(to));
      return rename(from, to);
    });
    expect(await put('ab', 'bytes', header(undefined, { n: 1 }))).toBe(true);
    expect(renames).toEqual([meta('ab'), data('ab')]);
    expect(await put('a/b', 'nested')).toBe(true);
    const snap = (await store.get('ab', true))!;
    expect(snap.header.metadata).toEqual({ n: 1 });
    expect(snap.header.acl.checkExactAccess(AccessCandidate.user('alice'), 'owner')).toBe(true);
    expect(snap.data?.size).toBe(5);
    expect(typeof snap.version).toBe('string');
    expect(fs.readFileSync(snap.fd!).toString()).toBe('bytes');
    await store.release(snap);
    expect(await store.get('missing')).toBeUndefined();
  });

  it('changes the version with every commit and header write, and refuses a stale one', async () => {
    await put('k', 'v1');
    const v1 = (await store.get('k'))!.version!;
    expect(await put('k', 'v2', header(), v1)).toBe(true);
    const v2 = (await store.get('k'))!.version!;
    expect(await store.writeHeader('k', header(undefined, { h: 1 }), v2)).toBe(true);
    const v3 = (await store.get('k'))!.version!;
    expect(new Set([v1, v2, v3]).size).toBe(3);
    expect(await put('k', 'stale', header(), v1)).toBe(false);
    expect(await store.writeHeader('k', header(), v2)).toBe(false);
    expect(await store.remove('k', v2)).toBe(false);
    expect(await put('k', 'exists', header())).toBe(false);
    expect(fs.readFileSync(data('k'), 'utf8')).toBe('v2');
  });

  it('narrows the old ACL first when a replace takes a right away', async () => {
    await put('doc', 'old', header(owner('alice').addAccess('user', 'bob', 'read')));
    const written: string[] = [];
    const rename = fs.promises.rename;
    jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (to === meta('doc')) written.push(fs.readFileSync(String(from), 'utf8'));
      else written.push('data');
      return rename(from, to);
    });
    const next = owner('alice').addAccess('user', 'carol', 'read');
    await put('doc', 'new', header(next), (await store.get('doc'))!.version);
    expect(written).toHaveLength(3);
    const between = ACL.parse(JSON.parse(written[0]).acl);
    expect(between.checkExactAccess(AccessCandidate.user('alice'), 'owner')).toBe(true);
    expect(between.levelsOf(AccessCandidate.user('bob'))).toEqual([]);
    expect(between.levelsOf(AccessCandidate.user('carol'))).toEqual([]);
    expect(written[1]).toBe('data');
    expect(ACL.parse(JSON.parse(written[2]).acl).serialize()).toBe(next.serialize());
  });

  it('restores the old metadata when the data cannot be placed after narrowing', async () => {
    const old = owner('alice').addAccess('user', 'bob', 'read');
    await put('doc', 'old', header(old, { v: 1 }));
    const rename = fs.promises.rename;
    jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (to === data('doc')) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      return rename(from, to);
    });
    await expect(put('doc', 'new', header(owner('alice')), (await store.get('doc'))!.version)).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    jest.restoreAllMocks();
    const snap = (await store.get('doc'))!;
    expect(snap.header.acl.serialize()).toBe(old.serialize());
    expect(snap.header.metadata).toEqual({ v: 1 });
    expect(fs.readFileSync(data('doc'), 'utf8')).toBe('old');
  });

  it('removes data first, then metadata; a missing key is removed already', async () => {
    await put('gone', 'x');
    const unlinks: string[] = [];
    const unlink = fs.promises.unlink;
    jest.spyOn(fs.promises, 'unlink').mockImplementation(async (file) => {
      unlinks.push(String(file));
      return unlink(file);
    });
    expect(await store.remove('gone', (await store.get('gone'))!.version)).toBe(true);
    expect(unlinks).toEqual([data('gone'), meta('gone')]);
    expect(await store.remove('gone', 'whatever')).toBe(true);
  });

  it('treats data without metadata as live with an empty ACL, and metadata without data as missing', async () => {
    fs.writeFileSync(data('bare'), 'x');
    const bare = (await store.get('bare'))!;
    expect(bare.header.acl.isEmpty()).toBe(true);
    expect(bare.version).toBeDefined();
    fs.writeFileSync(meta('orphan'), JSON.stringify({ acl: owner('alice').serialize() }));
    expect(await store.get('orphan')).toBeUndefined();
    expect(await put('orphan', 'created')).toBe(true);
  });

  it('deletes an expired pair when it is read, and lets a create replace it', async () => {
    await put('soon', 'x', header(undefined, {}, Date.now() - 1));
    expect(await store.get('soon')).toBeUndefined();
    expect(fs.existsSync(data('soon'))).toBe(false);
    expect(fs.existsSync(meta('soon'))).toBe(false);
    await put('later', 'x', header(undefined, {}, Date.now() + 60_000));
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 120_000);
    expect(await put('later', 'fresh')).toBe(true);
    expect(fs.readFileSync(data('later'), 'utf8')).toBe('fresh');
  });

  it('removes orphaned metadata only past its grace period, and lists every key', async () => {
    fs.writeFileSync(meta('young'), '{}');
    fs.writeFileSync(meta('old'), '{}');
    const past = new Date(Date.now() - 120_000);
    fs.utimesSync(meta('old'), past, past);
    await put('live', 'x');
    expect(await store.removeOrphan('young', 60_000)).toBe(false);
    expect(await store.removeOrphan('old', 60_000)).toBe(true);
    expect(await store.removeOrphan('live', 0)).toBe(false);
    const keys: string[] = [];
    for await (const key of store.keys()) keys.push(key);
    expect(keys.sort()).toEqual(['live', 'young']);
  });

  it('refuses keys that leave either root', () => {
    for (const key of ['../x', '/etc/passwd', 'a/../../x', 'a\0b', '', '.'])
      expect(() => store.paths(key)).toThrow(SreInvalidInputError);
    expect(store.paths('a/b')).toEqual({ data: data('a/b'), meta: meta('a/b') });
  });

  it('refuses a key with a segment longer than a file name may be', () => {
    expect(() => store.paths(`a/${'x'.repeat(256)}`)).toThrow(/a path segment is longer than 255 bytes/);
    expect(store.paths('x'.repeat(255)).data).toBe(data('x'.repeat(255)));
  });

  it('refuses every operation on a key whose path goes through a symbolic link, touching nothing outside', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-pairs-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'x'), JSON.stringify({ acl: owner('alice').serialize(), expiresAt: '1' }));
      fs.symlinkSync(outside, data('linked'));
      fs.symlinkSync(outside, meta('linked-meta'));
      fs.writeFileSync(meta('file-link'), JSON.stringify({ acl: owner('alice').serialize() }));
      fs.symlinkSync(path.join(outside, 'x'), data('file-link'));
      for (const key of ['linked/x', 'linked/new', 'linked-meta/x', 'linked-meta/a/b', 'file-link']) {
        await expect(store.get(key)).rejects.toThrow(/symbolic link/);
        await expect(store.snapshot(key)).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(put(key, 'escaped')).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(store.writeHeader(key, header(), 'v')).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(store.remove(key, undefined)).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(store.removeOrphan(key, 0)).rejects.toBeInstanceOf(SreInvalidInputError);
        expect(await store.reap(key)).toBe(false);
      }
      expect(fs.readdirSync(outside)).toEqual(['x']);
      expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('works under roots reached through a symbolic link', async () => {
    const alias = path.join(dir, 'alias');
    fs.symlinkSync(dir, alias);
    const aliased = new FilePairStore({
      dataRoot: path.join(alias, 'data'),
      metaRoot: path.join(alias, 'meta'),
      files: new AtomicFiles(path.join(dir, 'tmp'), false),
    });
    const spooled = await aliased.files.spool('via alias');
    expect(await aliased.commit('a/b', spooled.path, header(), undefined)).toBe(true);
    expect(fs.readFileSync(data('a/b'), 'utf8')).toBe('via alias');
    expect((await aliased.get('a/b'))?.version).toBeDefined();
  });

  it('gives up with ConcurrentChangeError on metadata that keeps being replaced while it is read', async () => {
    await put('hot', 'x');
    const stat = fs.promises.stat;
    let bump = 0;
    jest.spyOn(fs.promises, 'stat').mockImplementation(async (file, options) => {
      const real = await stat(file, options);
      return file === meta('hot')
        ? Object.assign(Object.create(Object.getPrototypeOf(real)), real, { ino: Number(real.ino) + ++bump })
        : real;
    });
    await expect(store.get('hot')).rejects.toBeInstanceOf(ConcurrentChangeError);
  });

  it('warns about metadata it cannot decode and grants nothing for it', async () => {
    fs.writeFileSync(data('broken'), 'x');
    fs.writeFileSync(meta('broken'), '{oops');
    expect((await store.get('broken'))!.header.acl.isEmpty()).toBe(true);
    expect(warn).toHaveBeenCalledWith('broken', expect.stringMatching(/not a JSON object/));
  });
});
