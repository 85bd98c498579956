import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import { createConnectorContext, labelOf, sourceOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreBackendError, SreConfigError, SreError, SreInvalidInputError } from '../../core/errors';
import { AtomicFiles } from '../../core/fs/atomic-file';
import { isExpired, Sweeper } from '../../core/fs/expiry';
import { ConcurrentChangeError, FilePairStore, type PairSnapshot } from '../../core/fs/file-pair-store';
import { INLINE_FILE_IO, POOLED_FILE_IO } from '../../core/fs/file-io';
import { codeOf, ensureDir, isSystemError, readFd } from '../../core/fs/fs-util';
import type { StagedWrite, StorageBackend, StorageData, StorageEntry, StorageHeader } from '../storage.backend';

export class LocalStorageSettings {
  /** Root folder; created when missing (default `<dataDir>/storage`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  folder?: string;

  /**
   * Seconds between background sweeps that delete expired resources, orphaned metadata and stale
   * temp files; `0` turns the sweep off (expired resources still read as missing and are deleted
   * when touched).
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(604_800)
  sweepIntervalSeconds?: number = 300;

  /**
   * fsync every file before it replaces the previous version, so that a power loss leaves the old
   * or the new content, never a torn file. Turn off only for scratch data (tests, caches).
   */
  @IsOptional()
  @IsBoolean()
  fsync?: boolean = true;

  /**
   * The file-system calls that only look (stat, open for reading, reads of up to 64 KB) and small
   * writes into the page cache run inline on the event loop: a few microseconds each on a local
   * disk, against tens for a trip through libuv's 4-thread pool, which every concurrent request
   * would queue on. Creates, renames, unlinks, fsync, bigger transfers and streams use the pool
   * either way. Turn off on a network or FUSE file system, where one stat can take milliseconds and
   * would stall every request of the process meanwhile.
   */
  @IsOptional()
  @IsBoolean()
  inlineIo?: boolean = true;
}

/** The library's note to whoever opens the folder: in `<folder>`, beside `local/`, never in the ids' namespace. */
const README = 'README_IMPORTANT.txt';
const README_TEXT = `This folder is a LocalStorage store of nestjs-sre:

  local/            the stored files, at their resource id (a relative path)
  .local.metadata/  their metadata (access control list, content type, expiry, custom keys), one JSON
                    file per resource at the same relative path
  .tmp/             writes in progress

Do not edit, move or delete these files by hand: a resource whose metadata file is missing or
damaged can no longer be read or written by anyone. Symbolic links inside this folder are never
followed: a resource whose path goes through one can no longer be read or written.
`;
/** Pseudo file systems: folders there hold no files (and recursive mkdir spins forever under /proc). */
const PSEUDO_FILE_SYSTEMS = ['/proc', '/sys'];
/** A metadata file without data younger than this may belong to a write in progress. */
const ORPHAN_GRACE_MS = 60_000;
/** A temp file untouched for this long belongs to a writer that died. */
const STALE_TEMP_MS = 3_600_000;
/** Errors of a path that another resource (or a folder of them) blocks. */
const IN_THE_WAY = new Set(['EISDIR', 'ENOTDIR', 'EEXIST', 'ENOTEMPTY']);
/** A name on the path, or the whole path, is longer than the file system takes. */
const TOO_LONG = 'ENAMETOOLONG';

/**
 * Bytes per read of a streamed resource. A FileHandle stream pays a promise per read: at the 64 KB
 * default that is a quarter of raw `fs.createReadStream`'s speed, at 1 MB it is past it.
 */
const READ_CHUNK = 1024 * 1024;

/** Counts of what one sweep removed. */
export interface LocalStorageSweepResult {
  expired: number;
  orphans: number;
  temps: number;
}

/**
 * Blobs on the local file system, in the original's layout: data in `<folder>/local/<id>`,
 * metadata in `<folder>/.local.metadata/<id>` (a JSON object of strings; `acl` in compact form,
 * `expiresAt` in epoch milliseconds, other non-string values JSON-encoded; see `header-codec`),
 * writes in progress in `<folder>/.tmp`, and the folder's README at `<folder>/README_IMPORTANT.txt`
 * (outside both trees, so no resource id can reach it; the original kept it in `.local.metadata`,
 * where a file of that name is now simply the metadata of the resource `README_IMPORTANT.txt`, and
 * the sweep leaves it alone while no such resource exists). `local`, `.local.metadata` and `.tmp`
 * must be real folders, and no symbolic link below them is followed (see `FilePairStore`).
 *
 * Crash safety is `FilePairStore`'s: every file is written to `.tmp`, fsynced and renamed over
 * the old one, and the pair's two renames are ordered so that a crash never exposes content to
 * someone its ACL does not admit (create: metadata first; a replace that takes a right away:
 * narrowed old metadata first; delete: data first). A resource exists iff its data file does.
 * The version is both files' stamps (inode, size, mtime): every commit and header write replaces
 * a file. Conditional changes of one id compare it under an in-process lock; writers in several
 * processes sharing one folder are not coordinated (each file stays whole, a pair may mix).
 */
export class LocalStorageConnector implements StorageBackend {
  static readonly connectorName = 'LocalStorage';
  static readonly settingsClass = LocalStorageSettings;

  readonly folder: string;
  private readonly pairs: FilePairStore;
  private readonly sweeper: Sweeper<LocalStorageSweepResult>;

  constructor(
    private readonly settings: LocalStorageSettings = {},
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'Storage',
      connector: 'LocalStorage',
    }),
  ) {
    this.folder = path.resolve(settings.folder ?? path.join(context.dataDir, 'storage'));
    this.pairs = new FilePairStore({
      dataRoot: path.join(this.folder, 'local'),
      metaRoot: path.join(this.folder, '.local.metadata'),
      files: new AtomicFiles(path.join(this.folder, '.tmp'), settings.fsync ?? true, {
        io: (settings.inlineIo ?? true) ? INLINE_FILE_IO : POOLED_FILE_IO,
        createAhead: true,
      }),
      warn: (id, problem) => context.logger.warn(`'${id}': ${problem}`),
      source: sourceOf(context),
    });
    this.sweeper = new Sweeper(() => this.runSweep(), context.logger);
  }

  async connect(): Promise<void> {
    const { dataRoot, metaRoot, files } = this.pairs;
    // the folder is a setting: name the field, not its value (W20: never fall back elsewhere)
    const field = this.settings.folder !== undefined ? 'settings.folder' : 'the data dir (dataDir)';
    const refuse = (why: string) => new SreConfigError([`${labelOf(this.context)}: ${why}`]);
    try {
      // checked before anything is created there
      const real = await realAncestor(this.folder);
      if (PSEUDO_FILE_SYSTEMS.some((root) => real === root || real.startsWith(`${root}/`)))
        throw refuse(
          `the storage folder given by ${field} is on a pseudo file system (${PSEUDO_FILE_SYSTEMS.join(', ')}), which cannot hold files`,
        );
      // one mkdir per missing folder, never a recursive one: that one spins forever under /proc
      await ensureDir(this.folder);
      for (const dir of [dataRoot, metaRoot, files.tempDir]) {
        await ensureDir(dir);
        // a linked subfolder would put the store (or its temp files) somewhere else entirely
        if (!(await fs.promises.lstat(dir)).isDirectory())
          throw refuse(
            `'${path.basename(dir)}' in the storage folder given by ${field} is a symbolic link or a file; it must be a real folder`,
          );
      }
      await this.probe();
    } catch (error) {
      if (error instanceof SreConfigError) throw error;
      throw refuse(`cannot create or write the storage folder given by ${field} (${codeOf(error)})`);
    }
    await fs.promises.writeFile(path.join(this.folder, README), README_TEXT, { flag: 'wx' }).catch((error) => {
      // an existing README is left alone
      if (codeOf(error) !== 'EEXIST')
        this.context.logger.warn(`could not write the folder's README (${codeOf(error)})`);
    });
    await files.removeStale(STALE_TEMP_MS).catch((error) => {
      this.context.logger.warn(`temp cleanup failed (${codeOf(error)})`);
    });
    this.sweeper.start((this.settings.sweepIntervalSeconds ?? 300) * 1000);
  }

  async disconnect(): Promise<void> {
    await this.sweeper.stop();
    await this.pairs.files.close();
  }

  ping(): Promise<void> {
    return this.guard('checking the folder is writable', () => this.probe());
  }

  stat(id: string): Promise<StorageEntry | undefined> {
    return this.guard(`reading '${id}'`, async () => {
      const snap = await this.pairs.get(id);
      return snap && entryOf(snap);
    });
  }

  read(
    id: string,
    wanted?: (entry: StorageEntry) => boolean | Promise<boolean>,
  ): Promise<{ entry: StorageEntry; data: Buffer } | undefined> {
    return this.guard(`reading '${id}'`, async () => {
      const snap = await this.pairs.get(id, true);
      try {
        if (!snap) return undefined;
        const entry = entryOf(snap);
        if (wanted && !(await wanted(entry))) return { entry, data: Buffer.alloc(0) };
        // the size the stamp recorded: files are replaced, never changed in place
        return { entry, data: await readFd(this.pairs.io, snap.fd!, snap.data!.size) };
      } finally {
        // nothing waits on the close: the bytes are in hand and a failed close loses nothing
        void this.pairs.release(snap);
      }
    });
  }

  readStream(id: string): Promise<{ entry: StorageEntry; stream: Readable } | undefined> {
    return this.guard(`reading '${id}'`, async () => {
      const snap = await this.pairs.get(id, true);
      // the open descriptor pins this version: a concurrent replace or delete does not cut the stream
      return (
        snap && {
          entry: entryOf(snap),
          stream: fs.createReadStream('', { fd: snap.fd!, autoClose: true, highWaterMark: READ_CHUNK }),
        }
      );
    });
  }

  async stage(id: string, data: StorageData): Promise<StagedWrite> {
    this.pairs.paths(id);
    const { files } = this.pairs;
    const spooled = await files.spool(data).catch((error: unknown) => {
      // a source stream's own error reaches the caller as it is; file-system errors are wrapped
      throw isSystemError(error) ? this.fsError(error, `writing '${id}'`) : error;
    });
    return {
      commit: (header, ifVersion) =>
        this.guard(`writing '${id}'`, () => this.pairs.commit(id, spooled.path, header, asStamp(ifVersion)), id),
      discard: () => files.drop(spooled.path),
    };
  }

  writeHeader(id: string, header: StorageHeader, ifVersion: Version): Promise<boolean> {
    return this.guard(`updating '${id}'`, () => this.pairs.writeHeader(id, header, asStamp(ifVersion)));
  }

  delete(id: string, ifVersion: Version): Promise<boolean> {
    return this.guard(`deleting '${id}'`, () => this.pairs.remove(id, asStamp(ifVersion)));
  }

  /**
   * Deletes expired resources, metadata left without data by an interrupted write, and temp files
   * of writers that died. Runs on the `sweepIntervalSeconds` timer; call it to purge now.
   */
  sweep(): Promise<LocalStorageSweepResult> {
    return this.sweeper.run();
  }

  private async runSweep(): Promise<LocalStorageSweepResult> {
    const temps = await this.pairs.files.removeStale(STALE_TEMP_MS);
    const result: LocalStorageSweepResult = { expired: 0, orphans: 0, temps };
    for await (const id of this.pairs.keys()) {
      if (this.sweeper.stopping) break;
      // a sweep touches every id once: keep it out of the cache of hot ones
      const snap = await this.pairs.snapshot(id, false, false).catch(() => undefined);
      if (snap?.data && isExpired(snap.header.expiresAt)) {
        if (await this.pairs.reap(id)) result.expired++;
      } else if (snap && !snap.data && id !== README && (await this.pairs.removeOrphan(id, ORPHAN_GRACE_MS)))
        // without data, `.local.metadata/README_IMPORTANT.txt` is the original's README: kept
        result.orphans++;
    }
    return result;
  }

  private async probe(): Promise<void> {
    const file = path.join(this.pairs.files.tempDir, `probe-${randomUUID()}`);
    await fs.promises.writeFile(file, '');
    await fs.promises.rm(file, { force: true });
  }

  /**
   * Runs one operation with its file-system errors turned into messages that never name the folder;
   * a commit of `writing` that another resource's path blocks is the caller's mistake.
   */
  private async guard<T>(doing: string, operation: () => Promise<T>, writing?: string): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (codeOf(error) === TOO_LONG) throw this.tooLong();
      if (writing === undefined || !IN_THE_WAY.has(codeOf(error))) throw this.fsError(error, doing);
      const why = `cannot write '${writing}': a resource or folder on its path is in the way`;
      throw new SreInvalidInputError(why, sourceOf(this.context));
    }
  }

  /** The file system refused a name as too long: the id's fault, not the backend's (never echoed: it is long). */
  private tooLong(): SreInvalidInputError {
    return new SreInvalidInputError(
      'invalid resource id: a path segment, or the whole path in the storage folder, is longer than the file system allows (ENAMETOOLONG)',
      sourceOf(this.context),
    );
  }

  /** File-system errors name the operation and the code; never the folder (a setting). */
  private fsError(error: unknown, doing: string): SreError {
    if (error instanceof SreError) return error;
    const why = error instanceof ConcurrentChangeError ? error.message : codeOf(error);
    return new SreBackendError(`${labelOf(this.context)}: ${doing}: ${why}`, sourceOf(this.context), { cause: error });
  }
}

/** The real path of `dir`'s deepest existing ancestor (itself when it exists). */
async function realAncestor(dir: string): Promise<string> {
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      return await fs.promises.realpath(current);
    } catch (error) {
      if (path.dirname(current) === current || (codeOf(error) !== 'ENOENT' && codeOf(error) !== 'ENOTDIR')) throw error;
    }
  }
}

function entryOf(snap: PairSnapshot): StorageEntry {
  return { ...snap.header, size: snap.data!.size, version: snap.version };
}

/** Versions this connector handed out are stamp strings; anything else matches nothing. */
function asStamp(version: Version): string | undefined {
  return typeof version === 'string' ? version : version === undefined ? undefined : '\0';
}
