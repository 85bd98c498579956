import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  codeOf,
  fileStamp,
  isAbsent,
  isSystemError,
  StampedTextCache,
  statOrUndefined,
  unlinkIfPresent,
  walkFiles,
} from './fs-util';

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

  describe('StampedTextCache', () => {
    it('re-reads a file only when its stamp changed, and sees replacements at once', async () => {
      const file = path.join(dir, 'meta');
      fs.writeFileSync(file, 'v1');
      const cache = new StampedTextCache();
      const open = jest.spyOn(fs.promises, 'open');
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
      const open = jest.spyOn(fs.promises, 'open');
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
