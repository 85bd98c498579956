import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertByteSource, chunkToBuffer, toBuffer, type ByteSource } from './bytes';
import { codeOf, statOrUndefined } from './fs-util';

const fsp = fs.promises;

/** Write-side buffer of streamed data: what a stream may hold in memory beyond the source's own. */
const STREAM_CHUNK = 256 * 1024;

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

  constructor(
    readonly tempDir: string,
    readonly fsync = true,
  ) {}

  /** Streams `data` into a new flushed temp file (with backpressure); nothing is left behind if this fails. */
  async spool(data: ByteSource): Promise<SpooledFile> {
    assertByteSource(data);
    const temp = path.join(this.tempDir, randomUUID());
    this.active.add(temp);
    let handle: fs.promises.FileHandle | undefined;
    try {
      handle = await fsp.open(temp, 'wx');
      const bytes = toBuffer(data);
      if (bytes) await writeAll(handle, bytes);
      else {
        // pipeline applies backpressure: the source is paused while the disk catches up
        await pipeline(
          data as Readable | AsyncIterable<unknown>,
          new Transform({
            writableObjectMode: true,
            writableHighWaterMark: 1,
            readableHighWaterMark: STREAM_CHUNK,
            transform: (chunk, _encoding, done) => {
              try {
                done(null, chunkToBuffer(chunk));
              } catch (error) {
                done(error as Error);
              }
            },
          }),
          fs.createWriteStream(temp, { fd: handle.fd, autoClose: false, highWaterMark: STREAM_CHUNK }),
        );
      }
      if (this.fsync) await handle.sync();
      const stat = await handle.stat();
      const open = handle;
      handle = undefined;
      await open.close();
      return { path: temp, stat };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await this.drop(temp);
      throw error;
    }
  }

  /** Renames a spooled file onto `target`, creating its parent folders on demand. */
  async place(temp: string, target: string): Promise<void> {
    try {
      await fsp.rename(temp, target);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT' || !(await statOrUndefined(temp))) throw error;
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rename(temp, target);
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

async function writeAll(handle: fs.promises.FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}
