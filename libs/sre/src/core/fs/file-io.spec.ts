import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INLINE_FILE_IO, INLINE_IO_BYTES, POOLED_FILE_IO, type FileIo } from './file-io';

describe.each([
  ['POOLED_FILE_IO', POOLED_FILE_IO],
  ['INLINE_FILE_IO', INLINE_FILE_IO],
])('%s', (_name, io: FileIo) => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-io-'));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes, flushes, stats and reads back through a descriptor', async () => {
    const file = path.join(dir, 'f');
    const fd = await io.open(file, 'wx');
    const bytes = Buffer.from('hello world');
    expect(await io.write(fd, bytes, 0, bytes.length)).toBe(bytes.length);
    await io.fsync(fd);
    expect((await io.fstat(fd)).size).toBe(bytes.length);
    await io.close(fd);
    const back = Buffer.alloc(5);
    const read = await io.open(file, 'r');
    expect(await io.read(read, back, 0, 5, 6)).toBe(5);
    await io.close(read);
    expect(back.toString()).toBe('world');
    expect((await io.statIfAny(file))?.size).toBe(bytes.length);
  });

  it('answers undefined for a missing file or a file in the way of its folder, and errors otherwise', async () => {
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    expect(await io.statIfAny(path.join(dir, 'missing'))).toBeUndefined();
    expect(await io.statIfAny(path.join(dir, 'file', 'below'))).toBeUndefined();
    await expect(io.statIfAny(path.join(dir, 'x'.repeat(300)))).rejects.toMatchObject({ code: 'ENAMETOOLONG' });
  });

  it('fails as a rejected promise with the system code, never a throw', async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ['ENOENT', () => io.open(path.join(dir, 'missing'), 'r')],
      ['ENOENT', () => io.lstat(path.join(dir, 'missing'))],
      ['ENOENT', () => io.rename(path.join(dir, 'missing'), path.join(dir, 'other'))],
      ['ENOENT', () => io.unlink(path.join(dir, 'missing'))],
      ['EBADF', () => io.fstat(987654)],
      ['EBADF', () => io.close(987654)],
    ];
    for (const [code, call] of calls) {
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = call())).not.toThrow();
      await expect(pending).rejects.toMatchObject({ code, syscall: expect.any(String) });
    }
  });

  it('renames over an existing file and stats a link as itself', async () => {
    fs.writeFileSync(path.join(dir, 'a'), 'new');
    fs.writeFileSync(path.join(dir, 'b'), 'old');
    await io.rename(path.join(dir, 'a'), path.join(dir, 'b'));
    expect(fs.readFileSync(path.join(dir, 'b'), 'utf8')).toBe('new');
    fs.symlinkSync(path.join(dir, 'b'), path.join(dir, 'link'));
    expect((await io.lstat(path.join(dir, 'link'))).isSymbolicLink()).toBe(true);
  });
});

describe('INLINE_FILE_IO', () => {
  it('sends reads and writes above INLINE_IO_BYTES to the thread pool, and flushes there always', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-io-'));
    try {
      const [read, write, fsync] = (['read', 'write', 'fsync'] as const).map((call) =>
        jest.spyOn(POOLED_FILE_IO, call),
      );
      const fd = await INLINE_FILE_IO.open(path.join(dir, 'big'), 'w+');
      const big = Buffer.alloc(INLINE_IO_BYTES + 1, 1);
      await INLINE_FILE_IO.write(fd, big, 0, INLINE_IO_BYTES);
      await INLINE_FILE_IO.read(fd, big, 0, INLINE_IO_BYTES, 0);
      expect([read, write].map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
      await INLINE_FILE_IO.write(fd, big, 0, big.length);
      await INLINE_FILE_IO.read(fd, big, 0, big.length, 0);
      await INLINE_FILE_IO.fsync(fd);
      expect([read, write, fsync].map((spy) => spy.mock.calls.length)).toEqual([1, 1, 1]);
      await INLINE_FILE_IO.close(fd);
    } finally {
      jest.restoreAllMocks();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unlinks a file known to be small inline, and a big or unknown one on the thread pool', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-io-'));
    try {
      const unlink = jest.spyOn(POOLED_FILE_IO, 'unlink');
      const files = ['small', 'big', 'unknown'].map((name) => path.join(dir, name));
      for (const file of files) fs.writeFileSync(file, 'x');
      const small = INLINE_FILE_IO.unlink(files[0], INLINE_IO_BYTES);
      // gone before the promise is awaited: the call ran on this thread
      expect(fs.existsSync(files[0])).toBe(false);
      await small;
      await INLINE_FILE_IO.unlink(files[1], INLINE_IO_BYTES + 1);
      await INLINE_FILE_IO.unlink(files[2]);
      expect(unlink.mock.calls.map(([file]) => path.basename(file))).toEqual(['big', 'unknown']);
      expect(files.some((file) => fs.existsSync(file))).toBe(false);
      await expect(INLINE_FILE_IO.unlink(files[0], 1)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      jest.restoreAllMocks();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
