import * as fs from 'node:fs';

/**
 * Reads and writes of up to this many bytes run inline with `INLINE_FILE_IO`; larger ones go to the
 * thread pool either way (a 64 KB copy from the page cache takes microseconds, a 100 MB one would
 * hold the event loop).
 */
export const INLINE_IO_BYTES = 64 * 1024;

/**
 * The file-system calls of a store, by descriptor, each as a promise. Two flavours:
 * - `POOLED_FILE_IO`: every call on libuv's thread pool, the Node default.
 * - `INLINE_FILE_IO`: the calls that only look (stat, lstat, open for reading, fstat, reads up to
 *   `INLINE_IO_BYTES`), writes of up to that many bytes into the page cache, and close run
 *   synchronously and return a settled promise, and so does the unlink of a file known to be small.
 *   The calls that change the folder tree or wait for the disk (open to create, rename, other
 *   unlinks, fsync: journal work, 20 µs to a few ms) and bigger transfers still use the pool. On a local disk an inline call takes 2-10 µs, where the trip
 *   through the pool costs 20-80 µs on this 2-core machine and 4 pool threads queue every call of a
 *   busy process; on a network file system one stat can take milliseconds, all on the event loop.
 * Errors are the file system's own (code, syscall) in both.
 */
export interface FileIo {
  /** The file's stat; `undefined` when it, or a folder on its way, is missing. */
  statIfAny(file: string): Promise<fs.Stats | undefined>;
  lstat(file: string): Promise<fs.Stats>;
  open(file: string, flags: string): Promise<number>;
  fstat(fd: number): Promise<fs.Stats>;
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  write(fd: number, buffer: Buffer, offset: number, length: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /**
   * `bytes`: the file's size when the caller knows it. `INLINE_FILE_IO` unlinks a file it knows to
   * be small inline (freeing a few blocks: 10-150 µs of journal work, against a 20-80 µs trip
   * through the pool that a delete otherwise makes twice); a big or unknown one on the pool, as
   * freeing a big file's extents can take milliseconds.
   */
  unlink(file: string, bytes?: number): Promise<void>;
}

const fsp = fs.promises;

/** Resolves with the callback's value (descriptor calls: no FileHandle object per open file). */
function pooled<T>(start: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

function missing(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}

export const POOLED_FILE_IO: FileIo = {
  statIfAny: (file) => fsp.stat(file).catch(missing),
  lstat: (file) => fsp.lstat(file),
  open: (file, flags) => pooled((done) => fs.open(file, flags, done)),
  fstat: (fd) => pooled((done) => fs.fstat(fd, done)),
  read: (fd, buffer, offset, length, position) => pooled((done) => fs.read(fd, buffer, offset, length, position, done)),
  write: (fd, buffer, offset, length) => pooled((done) => fs.write(fd, buffer, offset, length, null, done)),
  fsync: (fd) => pooled<void>((done) => fs.fsync(fd, (error) => done(error, undefined))),
  close: (fd) => pooled<void>((done) => fs.close(fd, (error) => done(error, undefined))),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
};

/** Runs `call` now; its result or its error as a settled promise, like the pooled call's. */
function now<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

export const INLINE_FILE_IO: FileIo = {
  statIfAny: (file) =>
    now(() => {
      try {
        // no error object built for the common miss (a create's probe)
        return fs.statSync(file, { throwIfNoEntry: false });
      } catch (error) {
        return missing(error);
      }
    }),
  lstat: (file) => now(() => fs.lstatSync(file)),
  open: (file, flags) => (flags === 'r' ? now(() => fs.openSync(file, flags)) : POOLED_FILE_IO.open(file, flags)),
  fstat: (fd) => now(() => fs.fstatSync(fd)),
  read: (fd, buffer, offset, length, position) =>
    length > INLINE_IO_BYTES
      ? POOLED_FILE_IO.read(fd, buffer, offset, length, position)
      : now(() => fs.readSync(fd, buffer, offset, length, position)),
  write: (fd, buffer, offset, length) =>
    length > INLINE_IO_BYTES
      ? POOLED_FILE_IO.write(fd, buffer, offset, length)
      : now(() => fs.writeSync(fd, buffer, offset, length)),
  // a flush waits for the disk: never on the event loop
  fsync: (fd) => POOLED_FILE_IO.fsync(fd),
  close: (fd) => now(() => fs.closeSync(fd)),
  rename: (from, to) => POOLED_FILE_IO.rename(from, to),
  unlink: (file, bytes) =>
    bytes !== undefined && bytes <= INLINE_IO_BYTES ? now(() => fs.unlinkSync(file)) : POOLED_FILE_IO.unlink(file),
};
