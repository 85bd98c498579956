import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertByteSource, chunkToBuffer, toBuffer, type ByteSource } from './bytes';
import { POOLED_FILE_IO, type FileIo } from './file-io';
import { codeOf, statOrUndefined } from './fs-util';

const fsp = fs.promises;

/**
 * Streamed data is written in batches of about this many bytes, one `writev` each, with one batch
 * on its way to the disk while the next is gathered: few syscalls and no copy of the chunks. What a
 * stream holds in memory beyond the source's own buffer is at most two batches.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** A source of tiny chunks is batched by count too (the kernel takes at most IOV_MAX at once). */
const WRITE_BATCH_CHUNKS = 1024;

export interface AtomicFilesOptions {
  /** How the small calls run (see `FileIo`; default `POOLED_FILE_IO`); streams always use FileHandles. */
  io?: FileIo;
  /**
   * Keep one empty temp file created ahead for the next write of bytes (see `openTemp`); `close()`
   * removes it. Off by default: it is one open descriptor and one empty file in the temp folder.
   */
  createAhead?: boolean;
}

interface OpenTemp {
  path: string;
  fd: number;
}

/** A flushed temp file, not yet in place. */
export interface SpooledFile {
  readonly path: string;
  /** Its stat once flushed; a rename keeps inode and mtime, so this is also the placed file's stat. */
  readonly stat: fs.Stats;
}

/**
 * Files replaced atomically: the bytes go to a temp file in `tempDir` (same file system as the
 * targets), are flushed (`fsync`), and the temp file is renamed over the target, so a reader or a
 * crash sees the old file or the new one, never a torn one. Temp files this instance is still
 * using are known, so `removeStale` only takes those of writers that died.
 *
 * Errors are the file system's own (`codeOf` gives the code; their messages name paths, so
 * callers should not show them); bad input is `SreInvalidInputError`; a source stream's own error
 * rejects as it is.
 */
export class AtomicFiles {
  private readonly active = new Set<string>();

  readonly io: FileIo;
  private readonly createAhead: boolean;
  /** The temp file created ahead for the next `spool` of bytes (with `createAhead`). */
  private spare?: Promise<OpenTemp>;
  private sparePath?: string;

  constructor(
    readonly tempDir: string,
    readonly fsync = true,
    options: AtomicFilesOptions = {},
  ) {
    this.io = options.io ?? POOLED_FILE_IO;
    this.createAhead = options.createAhead ?? false;
  }

  /** Streams `data` into a new flushed temp file (with backpressure); nothing is left behind if this fails. */
  async spool(data: ByteSource): Promise<SpooledFile> {
    assertByteSource(data);
    const bytes = toBuffer(data);
    let temp: string | undefined;
    try {
      if (!bytes) {
        temp = this.newTemp();
        return { path: temp, stat: await this.spoolStream(temp, data as AsyncIterable<unknown>) };
      }
      const open = await this.openTemp();
      temp = open.path;
      return { path: temp, stat: await this.fill(open.fd, bytes) };
    } catch (error) {
      if (temp !== undefined) await this.drop(temp);
      throw error;
    }
  }

  /** Closes and removes the temp file created ahead, if any (before the folder may go away). */
  async close(): Promise<void> {
    const taken = this.spare;
    this.spare = this.sparePath = undefined;
    const spare = await taken?.catch(() => undefined);
    if (spare) await this.discard(spare);
  }

  /** A temp path of this instance (known to `removeStale` as in use until placed or dropped). */
  private newTemp(): string {
    const temp = path.join(this.tempDir, randomUUID());
    this.active.add(temp);
    return temp;
  }

  private async createTemp(temp = this.newTemp()): Promise<OpenTemp> {
    try {
      return { path: temp, fd: await this.io.open(temp, 'wx') };
    } catch (error) {
      this.active.delete(temp);
      throw error;
    }
  }

  /** The name of the temp file created ahead (in `tempDir`), if any: an empty file, not a leftover. */
  get spareName(): string | undefined {
    return this.sparePath && path.basename(this.sparePath);
  }

  /**
   * An empty temp file open for writing. With `createAhead` the next one is created on the pool
   * while this one is written and flushed: creating a file is journal work (about 20 µs on a plain
   * local disk, 250-400 µs in this machine's /tmp and /work), and a writer then never waits for it.
   */
  private async openTemp(): Promise<OpenTemp> {
    if (!this.createAhead) return this.createTemp();
    // swapped before any await: concurrent spools each take a different spare, none is left over
    const taken = this.spare;
    this.sparePath = this.newTemp();
    this.spare = this.createTemp(this.sparePath);
    // a failed creation is seen by the spool that takes it (which then creates its own)
    this.spare.catch(() => undefined);
    const spare = await taken?.catch(() => undefined);
    // a spare whose folder was removed, or that a sweep of another process took, is no file any more
    if (spare && (await this.io.fstat(spare.fd)).nlink > 0) return spare;
    if (spare) await this.discard(spare);
    return this.createTemp();
  }

  private async discard(open: OpenTemp): Promise<void> {
    await this.io.close(open.fd).catch(() => undefined);
    await this.drop(open.path);
  }

  /** Writes `bytes` into the empty temp file at `fd`, flushes and closes it; resolves with its stat. */
  private async fill(fd: number, bytes: Buffer): Promise<fs.Stats> {
    const { io } = this;
    try {
      for (let offset = 0; offset < bytes.length;) offset += await io.write(fd, bytes, offset, bytes.length - offset);
      if (this.fsync) await io.fsync(fd);
      return await io.fstat(fd);
    } finally {
      await io.close(fd);
    }
  }

  private async spoolStream(temp: string, source: AsyncIterable<unknown>): Promise<fs.Stats> {
    const handle = await fsp.open(temp, 'wx');
    try {
      await writeStream(handle, source);
      if (this.fsync) await handle.sync();
      return await handle.stat();
    } finally {
      await handle.close();
    }
  }

  /** Renames a spooled file onto `target`, creating its parent folders on demand. */
  async place(temp: string, target: string): Promise<void> {
    try {
      await this.io.rename(temp, target);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT' || !(await statOrUndefined(temp, this.io))) throw error;
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await this.io.rename(temp, target);
    }
    this.active.delete(temp);
  }

  /** Removes a temp file a failed or abandoned write left (a placed one is already gone). Never throws. */
  async drop(temp: string): Promise<void> {
    if (!this.active.delete(temp)) return;
    await fsp.rm(temp, { force: true }).catch(() => undefined);
  }

  /** Spool and place in one step; resolves with the placed file's stat. */
  async write(target: string, data: ByteSource): Promise<fs.Stats> {
    const spooled = await this.spool(data);
    try {
      await this.place(spooled.path, target);
      return spooled.stat;
    } finally {
      await this.drop(spooled.path);
    }
  }

  /** True while this instance may still place or drop `temp`. */
  isActive(temp: string): boolean {
    return this.active.has(temp);
  }

  /**
   * Deletes temp files of other (dead) writers untouched for `maxAgeMs`; resolves with how many. A
   * symbolic link is judged and removed as the link itself: what it points to is never touched.
   */
  async removeStale(maxAgeMs: number): Promise<number> {
    let removed = 0;
    for (const name of await fsp.readdir(this.tempDir)) {
      const file = path.join(this.tempDir, name);
      if (this.active.has(file)) continue;
      const stat = await fsp.lstat(file).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs > maxAgeMs) {
        await fsp.rm(file, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }
}

/**
 * Writes every chunk of `source` at the end of `handle`. Backpressure comes from the iteration: no
 * chunk is pulled while two batches are pending. Leaving the loop on an error (the source's own,
 * a bad chunk, the disk's) ends the iteration, which destroys a `Readable` source.
 */
async function writeStream(handle: fs.promises.FileHandle, source: AsyncIterable<unknown>): Promise<void> {
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inFlight: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const flush = async () => {
    if (inFlight) await inFlight;
    if (failure) throw failure.error;
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    // caught at once (no unhandled rejection while the next batch is gathered), rethrown above
    inFlight = writevAll(handle, chunks).catch((error: unknown) => void (failure = { error }));
  };
  for await (const chunk of source) {
    const buffer = chunkToBuffer(chunk);
    if (buffer.length === 0) continue;
    batch.push(buffer);
    batchBytes += buffer.length;
    if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) await flush();
  }
  if (batch.length) await flush();
  if (inFlight) await inFlight;
  if (failure) throw failure.error;
}

/** `writev` until every byte of `chunks` is written (a short write continues where it stopped). */
async function writevAll(handle: fs.promises.FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length) {
    const { bytesWritten } = await handle.writev(rest);
    // a regular file takes at least a byte or fails; this guards the loop against a file system that does neither
    if (bytesWritten === 0)
      throw Object.assign(new Error('write made no progress'), { code: 'EIO', syscall: 'writev' });
    let skip = bytesWritten;
    let index = 0;
    while (index < rest.length && skip >= rest[index].length) skip -= rest[index++].length;
    rest = rest.slice(index);
    if (skip > 0) rest[0] = rest[0].subarray(skip);
  }
}
