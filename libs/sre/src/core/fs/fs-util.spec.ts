import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  assertNoSymlinkBelow,
  codeOf,
  ensureDir,
  fileStamp,
  isAbsent,
  isSystemError,
  StampedTextCache,
  statOrUndefined,
  SymlinkInPathError,
  unlinkIfPresent,
  walkFiles,
} from './fs-util';
import { INLINE_FILE_IO, POOLED_FILE_IO } from './file-io';

describe('fs-util', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-fs-util-'))));
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names an error by its code, never by its message (which holds paths)', async () => {
    const missing = await fs.promises.readFile(path.join(dir, 'nope')).catch((e: unknown) => e);
    expect(codeOf(missing)).toBe('ENOENT');
    expect([isAbsent(missing), isSystemError(missing)]).toEqual([true, true]);
    expect(codeOf(new TypeError(`bad ${dir}`))).toBe('TypeError');
    expect(codeOf('thrown text')).toBe('unknown error');
    expect(isSystemError(new Error('made up'))).toBe(false);
    expect(isAbsent(Object.assign(new Error(), { code: 'EACCES' }))).toBe(false);
  });

  it('stats what is there, and answers undefined for a missing path or one a file blocks', async () => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    expect((await statOrUndefined(path.join(dir, 'file')))?.size).toBe(1);
    expect(await statOrUndefined(path.join(dir, 'missing'))).toBeUndefined();
    expect(await statOrUndefined(path.join(dir, 'file', 'below'))).toBeUndefined();
    await unlinkIfPresent(path.join(dir, 'file'));
    await unlinkIfPresent(path.join(dir, 'file'));
    await unlinkIfPresent(path.join(dir, 'missing', 'below'));
    expect(fs.existsSync(path.join(dir, 'file'))).toBe(false);
  });

  it('gives a replaced file a new stamp', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'one');
    const first = fileStamp(fs.statSync(file));
    fs.writeFileSync(path.join(dir, 'tmp'), 'two');
    fs.renameSync(path.join(dir, 'tmp'), file);
    expect(fileStamp(fs.statSync(file))).not.toBe(first);
    expect(fileStamp(fs.statSync(file))).toBe(fileStamp(fs.statSync(file)));
  });

  it('walks regular files as relative slash paths, and nothing for a missing folder', async () => {
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'top'), '');
    fs.writeFileSync(path.join(dir, 'a', 'b', 'deep'), '');
    fs.mkdirSync(path.join(dir, 'empty'));
    const found: string[] = [];
    for await (const file of walkFiles(dir)) found.push(file);
    expect(found.sort()).toEqual(['a/b/deep', 'top']);
    for await (const file of walkFiles(path.join(dir, 'missing'))) found.push(file);
    expect(found).toHaveLength(2);
  });

  it('walks no linked folder and yields no linked file', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-fs-util-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'victim'), '');
      fs.symlinkSync(outside, path.join(dir, 'linked-dir'));
      fs.symlinkSync(path.join(outside, 'victim'), path.join(dir, 'linked-file'));
      fs.writeFileSync(path.join(dir, 'real'), '');
      const found: string[] = [];
      for await (const file of walkFiles(dir)) found.push(file);
      expect(found).toEqual(['real']);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  describe('ensureDir', () => {
    it('creates missing folders one non-recursive mkdir each, and accepts an existing folder', async () => {
      const mkdir = jest.spyOn(fs.promises, 'mkdir');
      await ensureDir(path.join(dir, 'a', 'b', 'c'));
      expect(fs.statSync(path.join(dir, 'a', 'b', 'c')).isDirectory()).toBe(true);
      expect(mkdir.mock.calls).toEqual([
        [path.join(dir, 'a')],
        [path.join(dir, 'a', 'b')],
        [path.join(dir, 'a', 'b', 'c')],
      ]);
      await ensureDir(path.join(dir, 'a', 'b', 'c'));
      expect(mkdir).toHaveBeenCalledTimes(3);
    });

    it('fails with the file system’s code when a file is in the way or mkdir is refused', async () => {
      fs.writeFileSync(path.join(dir, 'file'), 'x');
      expect(codeOf(await ensureDir(path.join(dir, 'file')).catch((e: unknown) => e))).toBe('EEXIST');
      expect(codeOf(await ensureDir(path.join(dir, 'file', 'below')).catch((e: unknown) => e))).toBe('ENOTDIR');
      jest.spyOn(fs.promises, 'mkdir').mockRejectedValue(Object.assign(new Error('no'), { code: 'EACCES' }));
      expect(codeOf(await ensureDir(path.join(dir, 'denied', 'x')).catch((e: unknown) => e))).toBe('EACCES');
    });

    // Linux: `mkdir(..., { recursive: true })` never returns there
    (fs.existsSync('/proc/self/status') ? it : it.skip)('fails at once under /proc/self', async () => {
      expect(codeOf(await ensureDir('/proc/self/sre-storage/x').catch((e: unknown) => e))).toBe('ENOENT');
    });
  });

  describe('assertNoSymlinkBelow', () => {
    let outside: string;
    beforeEach(() => (outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-fs-util-outside-'))));
    afterEach(() => fs.rmSync(outside, { recursive: true, force: true }));

    it('passes real paths, existing or not, and a root that does not exist yet', async () => {
      fs.mkdirSync(path.join(dir, 'a'));
      fs.writeFileSync(path.join(dir, 'a', 'f'), '');
      for (const file of ['a/f', 'a/new', 'a/new/deeper', 'missing/x', '..hidden', 'a/f/below'])
        await expect(assertNoSymlinkBelow(dir, path.join(dir, file))).resolves.toBeUndefined();
      await expect(assertNoSymlinkBelow(path.join(dir, 'nope'), path.join(dir, 'nope', 'x'))).resolves.toBeUndefined();
    });

    it('refuses a linked folder or file on the path, wherever it points, and a path outside the root', async () => {
      fs.mkdirSync(path.join(dir, 'inside'));
      fs.writeFileSync(path.join(outside, 'f'), '');
      fs.symlinkSync(outside, path.join(dir, 'out'));
      fs.symlinkSync(path.join(dir, 'inside'), path.join(dir, 'alias'));
      fs.symlinkSync(path.join(outside, 'f'), path.join(dir, 'inside', 'file-link'));
      fs.symlinkSync(path.join(dir, 'loop'), path.join(dir, 'loop'));
      fs.symlinkSync(path.join(outside, 'not-yet'), path.join(dir, 'dangling'));
      for (const file of [
        'out',
        'out/f',
        'out/new/x',
        'alias/x',
        'inside/file-link',
        'loop/x',
        'dangling',
        'dangling/x',
        '../escape',
      ])
        await expect(assertNoSymlinkBelow(dir, path.join(dir, file))).rejects.toBeInstanceOf(SymlinkInPathError);
    });

    it('accepts a root reached through a link', async () => {
      const alias = path.join(dir, 'alias');
      fs.symlinkSync(outside, alias);
      fs.mkdirSync(path.join(outside, 'a'));
      await expect(assertNoSymlinkBelow(alias, path.join(alias, 'a', 'x'))).resolves.toBeUndefined();
      await expect(assertNoSymlinkBelow(alias, path.join(alias, 'a', 'x'), INLINE_FILE_IO)).resolves.toBeUndefined();
    });
  });

  describe('StampedTextCache', () => {
    it('re-reads a file only when its stamp changed, and sees replacements at once', async () => {
      const file = path.join(dir, 'meta');
      fs.writeFileSync(file, 'v1');
      const cache = new StampedTextCache();
      const open = jest.spyOn(POOLED_FILE_IO, 'open');
      const first = await cache.read(file);
      expect(first).toEqual({ text: 'v1', stamp: fileStamp(fs.statSync(file)) });
      await cache.read(file);
      expect(open).toHaveBeenCalledTimes(1);
      fs.writeFileSync(path.join(dir, 'next'), 'v2');
      fs.renameSync(path.join(dir, 'next'), file);
      expect((await cache.read(file))?.text).toBe('v2');
      expect(open).toHaveBeenCalledTimes(2);
    });

    it('answers undefined for a missing file or a folder, and keeps one-off reads out', async () => {
      const cache = new StampedTextCache();
      expect(await cache.read(path.join(dir, 'missing'))).toBeUndefined();
      expect(await cache.read(dir)).toBeUndefined();
      const file = path.join(dir, 'once');
      fs.writeFileSync(file, 'x');
      const open = jest.spyOn(POOLED_FILE_IO, 'open');
      await cache.read(file, false);
      await cache.read(file, false);
      expect(open).toHaveBeenCalledTimes(2);
    });

    it('takes what this process just placed without reading it, and forgets on request', async () => {
      const cache = new StampedTextCache();
      const file = path.join(dir, 'placed');
      fs.writeFileSync(file, 'on disk');
      const stamp = fileStamp(fs.statSync(file));
      cache.remember(file, { stamp, text: 'remembered' });
      expect((await cache.read(file))?.text).toBe('remembered');
      cache.forget(file);
      expect((await cache.read(file))?.text).toBe('on disk');
    });
  });
});
