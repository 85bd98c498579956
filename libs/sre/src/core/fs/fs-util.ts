import * as fs from 'node:fs';
import * as path from 'node:path';
import { LRUCache } from 'lru-cache';
import { POOLED_FILE_IO, type FileIo } from './file-io';

const fsp = fs.promises;

/** The errno code of a file-system error (else the error's name): what a message may show, unlike the path. */
export function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error';
}

/** The path is not there as a file: missing, or a folder / a file in the way of its parents. */
export function isAbsent(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** An error raised by a system call (file system, socket), as opposed to one a stream made up. */
export function isSystemError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string';
}

/**
 * Identifies one version of a file. Every atomic replace is a new inode; an inode number reused
 * later also needs the same size and the same sub-microsecond mtime to collide.
 */
export function fileStamp(stat: fs.Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

export function statOrUndefined(file: string, io: FileIo = POOLED_FILE_IO): Promise<fs.Stats | undefined> {
  return io.statIfAny(file);
}

/**
 * Creates `dir` and its missing parents, one non-recursive `mkdir` each, so the work is bounded by
 * the path's depth. (`mkdir(dir, { recursive: true })` spins forever at full CPU where a parent
 * exists but refuses children, as under `/proc/self`.) Fails with the file system's error: `ENOTDIR`
 * when a file is in the way, `EEXIST` when `dir` is a file, the `mkdir` error otherwise.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let current = path.resolve(dir);
  let found: fs.Stats | undefined;
  for (;;) {
    found = await fsp.stat(current).catch((error: unknown) => {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    });
    const parent = path.dirname(current);
    if (found || parent === current) break;
    missing.push(current);
    current = parent;
  }
  if (found && !found.isDirectory())
    throw Object.assign(new Error('not a directory'), {
      code: missing.length ? 'ENOTDIR' : 'EEXIST',
      syscall: 'mkdir',
    });
  for (const folder of missing.reverse()) {
    try {
      await fsp.mkdir(folder);
    } catch (error) {
      // created meanwhile by someone else: fine, if it is a folder
      if (codeOf(error) !== 'EEXIST' || !(await fsp.stat(folder)).isDirectory()) throw error;
    }
  }
}

/** A path that resolves through a symbolic link, where none is allowed (see `assertNoSymlinkBelow`). */
export class SymlinkInPathError extends Error {
  readonly code = 'ESYMLINK';

  constructor() {
    super('a symbolic link is on the path');
  }
}

/**
 * Throws `SymlinkInPathError` when `file`, or any existing folder between `root` and it, is a
 * symbolic link (or `file` lies outside `root`): what keeps reads and writes under `root` on the
 * real path, not only on the lexical one. One `lstat` per name below the root, from the top down to
 * the first that does not exist (nothing below a missing name can be a link; a dangling link exists
 * and is found). A path with no link below the root stays below it, whatever the root itself is
 * reached through. Other file-system errors are thrown as they are.
 */
export async function assertNoSymlinkBelow(root: string, file: string, io: FileIo = POOLED_FILE_IO): Promise<void> {
  const base = path.resolve(root);
  const relative = path.relative(base, path.resolve(file));
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative))
    throw new SymlinkInPathError();
  let current = base;
  for (const name of relative === '' ? [] : relative.split(path.sep)) {
    current = path.join(current, name);
    let stat: fs.Stats;
    try {
      stat = await io.lstat(current);
    } catch (error) {
      if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return;
      throw error;
    }
    if (stat.isSymbolicLink()) throw new SymlinkInPathError();
  }
}

/**
 * Flushes a folder's entries (after a rename into it, so the new name survives a power cut); a
 * platform that cannot open folders for syncing skips it.
 */
export async function syncFolder(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes(codeOf(error))) throw error;
  } finally {
    await handle?.close();
  }
}

export async function unlinkIfPresent(file: string, io: FileIo = POOLED_FILE_IO, bytes?: number): Promise<void> {
  try {
    await io.unlink(file, bytes);
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}

/** Every regular file under `dir`, as a slash-separated path relative to it; an unreadable folder is skipped. */
export async function* walkFiles(dir: string, prefix = ''): AsyncGenerator<string> {
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* walkFiles(path.join(dir, entry.name), relative);
    else if (entry.isFile()) yield relative;
  }
}

/** A small file's text with the stamp of the very version it was read from. */
export interface StampedText {
  text: string;
  stamp: string;
}

/**
 * Texts of small files (metadata) by path, re-read only when the file's stamp changes: every read
 * still stats the file, so other processes' writes are seen at once.
 */
export class StampedTextCache {
  private readonly texts: LRUCache<string, StampedText>;

  constructor(
    max = 10_000,
    private readonly io: FileIo = POOLED_FILE_IO,
  ) {
    this.texts = new LRUCache({ max });
  }

  /** `undefined` when the file is missing or not a regular file; `remember: false` keeps one-off reads out. */
  async read(file: string, remember = true): Promise<StampedText | undefined> {
    const stat = await this.io.statIfAny(file);
    if (!stat?.isFile()) {
      this.texts.delete(file);
      return undefined;
    }
    const cached = this.texts.get(file);
    if (cached?.stamp === fileStamp(stat)) return cached;
    let fd: number;
    try {
      fd = await this.io.open(file, 'r');
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
    try {
      // stamp and text from one descriptor: a replace between stat and read cannot pair them wrongly
      const opened = await this.io.fstat(fd);
      const read = { stamp: fileStamp(opened), text: (await readFd(this.io, fd, opened.size)).toString('utf8') };
      if (remember) this.texts.set(file, read);
      return read;
    } finally {
      await this.io.close(fd);
    }
  }

  /** Records what this process just placed at `file` (a rename keeps the temp file's stamp). */
  remember(file: string, read: StampedText): void {
    this.texts.set(file, read);
  }

  forget(file: string): void {
    this.texts.delete(file);
  }
}

/**
 * The `size` bytes of the file open at `fd` (the size a stat of that descriptor found): one read for
 * a small file, where `readFile` stats again and reads until end of file. A file cut short under us
 * returns what it still holds.
 */
export async function readFd(io: FileIo, fd: number, size: number): Promise<Buffer> {
  // not from the shared pool: the caller owns the whole ArrayBuffer behind what it gets
  const data = Buffer.allocUnsafeSlow(size);
  let filled = 0;
  while (filled < size) {
    const bytesRead = await io.read(fd, data, filled, size - filled, filled);
    if (bytesRead === 0) return data.subarray(0, filled);
    filled += bytesRead;
  }
  return data;
}
