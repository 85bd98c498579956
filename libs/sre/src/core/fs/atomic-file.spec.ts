import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { SreInvalidInputError } from '../errors';
import { AtomicFiles } from './atomic-file';
import { POOLED_FILE_IO } from './file-io';
import { codeOf, fileStamp } from './fs-util';

describe('AtomicFiles', () => {
  let dir: string;
  let temp: string;
  const temps = () => fs.readdirSync(temp);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-atomic-'));
    temp = path.join(dir, '.tmp');
    fs.mkdirSync(temp);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replaces a file by renaming a flushed temp file over it, creating folders on demand', async () => {
    const files = new AtomicFiles(temp);
    const target = path.join(dir, 'deep', 'er', 'file');
    const stat = await files.write(target, 'one');
    expect(fs.readFileSync(target, 'utf8')).toBe('one');
    expect(fileStamp(stat)).toBe(fileStamp(fs.statSync(target)));
    const renames = jest.spyOn(fs.promises, 'rename');
    await files.write(target, Buffer.from('two'));
    expect(renames).toHaveBeenCalledWith(expect.stringContaining(temp), target);
    expect(fs.readFileSync(target, 'utf8')).toBe('two');
    expect(temps()).toEqual([]);
  });

  it('streams a source to the temp file and keeps bytes of Uint8Array views exact', async () => {
    const files = new AtomicFiles(temp, false);
    const target = path.join(dir, 'streamed');
    await files.write(target, Readable.from([Buffer.from('a'), 'b', new Uint8Array([9, 99, 9]).subarray(1, 2)]));
    expect(fs.readFileSync(target, 'utf8')).toBe('abc');
  });

  it('fsyncs each file unless told not to', async () => {
    // bytes in hand flush through the io, a stream through its FileHandle
    const sync = jest.spyOn(POOLED_FILE_IO, 'fsync');
    const probe = await fs.promises.open(path.join(dir, 'probe'), 'w');
    const handleSync = jest.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
    await probe.close();
    await new AtomicFiles(temp, true).write(path.join(dir, 'a'), 'x');
    await new AtomicFiles(temp, true).write(path.join(dir, 'c'), Readable.from(['x']));
    expect([sync.mock.calls.length, handleSync.mock.calls.length]).toEqual([1, 1]);
    await new AtomicFiles(temp, false).write(path.join(dir, 'b'), 'x');
    await new AtomicFiles(temp, false).write(path.join(dir, 'd'), Readable.from(['x']));
    expect([sync.mock.calls.length, handleSync.mock.calls.length]).toEqual([1, 1]);
  });

  it('leaves the old file and no temp file when the source fails or yields something else than bytes', async () => {
    const files = new AtomicFiles(temp);
    const target = path.join(dir, 'kept');
    await files.write(target, 'old');
    const own = new Error('went away');
    let sent = 0;
    const failing = new Readable({ read: () => (sent++ < 3 ? failing.push('x') : failing.destroy(own)) });
    await expect(files.write(target, failing)).rejects.toBe(own);
    await expect(files.write(target, Readable.from(['ok', 42]))).rejects.toThrow(SreInvalidInputError);
    await expect(files.write(target, 42 as never)).rejects.toThrow(SreInvalidInputError);
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(temps()).toEqual([]);
  });

  it('fails with the file system’s code when another file blocks the path, dropping the temp file', async () => {
    const files = new AtomicFiles(temp);
    fs.writeFileSync(path.join(dir, 'blocker'), 'x');
    const error = await files.write(path.join(dir, 'blocker', 'below'), 'y').catch((e: unknown) => e);
    expect(codeOf(error)).toBe('ENOTDIR');
    fs.mkdirSync(path.join(dir, 'folder'));
    expect(codeOf(await files.write(path.join(dir, 'folder'), 'y').catch((e: unknown) => e))).toMatch(
      /EISDIR|EEXIST|ENOTEMPTY/,
    );
    expect(temps()).toEqual([]);
  });

  it('keeps a spooled file until it is placed or dropped', async () => {
    const files = new AtomicFiles(temp);
    const spooled = await files.spool('staged');
    expect(files.isActive(spooled.path)).toBe(true);
    expect(fs.readFileSync(spooled.path, 'utf8')).toBe('staged');
    await files.drop(spooled.path);
    expect(files.isActive(spooled.path)).toBe(false);
    expect(temps()).toEqual([]);
    const placed = await files.spool('placed');
    await files.place(placed.path, path.join(dir, 'p'));
    await files.drop(placed.path);
    expect(fs.readFileSync(path.join(dir, 'p'), 'utf8')).toBe('placed');
  });

  it('removes a stale link in the temp folder as a link: what it points to is kept', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-atomic-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'keep'), 'outside');
      const past = new Date(Date.now() - 2 * 3600_000);
      fs.symlinkSync(outside, path.join(temp, 'old-link'));
      fs.lutimesSync(path.join(temp, 'old-link'), past, past);
      fs.symlinkSync(path.join(outside, 'keep'), path.join(temp, 'new-link'));
      // the target is old, the link is new: judged by the link
      fs.utimesSync(path.join(outside, 'keep'), past, past);
      expect(await new AtomicFiles(temp).removeStale(3600_000)).toBe(1);
      expect(temps()).toEqual(['new-link']);
      expect(fs.readFileSync(path.join(outside, 'keep'), 'utf8')).toBe('outside');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('removes stale temp files of dead writers only', async () => {
    const files = new AtomicFiles(temp);
    const mine = await files.spool('in progress');
    const past = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(mine.path, past, past);
    fs.writeFileSync(path.join(temp, 'dead'), 'partial');
    fs.utimesSync(path.join(temp, 'dead'), past, past);
    fs.mkdirSync(path.join(temp, 'dead-dir'));
    fs.utimesSync(path.join(temp, 'dead-dir'), past, past);
    fs.writeFileSync(path.join(temp, 'busy'), 'partial');
    expect(await files.removeStale(3600_000)).toBe(2);
    expect(temps().sort()).toEqual(['busy', path.basename(mine.path)].sort());
    await files.drop(mine.path);
  });

  describe('createAhead', () => {
    it('writes bytes into the temp file created ahead, keeps one spare, and close() removes it', async () => {
      const files = new AtomicFiles(temp, false, { createAhead: true });
      await files.write(path.join(dir, 'a'), 'one');
      const spare = files.spareName;
      expect(spare).toBeDefined();
      await files.spool('taken').then(async (spooled) => {
        expect(path.basename(spooled.path)).toBe(spare);
        await files.place(spooled.path, path.join(dir, 'b'));
      });
      expect(fs.readFileSync(path.join(dir, 'b'), 'utf8')).toBe('taken');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(temps()).toEqual([files.spareName]);
      await files.close();
      expect([temps(), files.spareName]).toEqual([[], undefined]);
    });

    it('replaces a spare that was removed under it, and leaves none behind concurrent writers', async () => {
      const files = new AtomicFiles(temp, false, { createAhead: true });
      await files.write(path.join(dir, 'a'), 'one');
      await new Promise((resolve) => setTimeout(resolve, 20));
      fs.rmSync(path.join(temp, files.spareName!));
      await files.write(path.join(dir, 'a'), 'two');
      expect(fs.readFileSync(path.join(dir, 'a'), 'utf8')).toBe('two');
      await Promise.all(Array.from({ length: 8 }, (_, i) => files.write(path.join(dir, `c${i}`), `${i}`)));
      await files.close();
      expect(temps()).toEqual([]);
      expect(fs.readFileSync(path.join(dir, 'c7'), 'utf8')).toBe('7');
    });
  });
});
