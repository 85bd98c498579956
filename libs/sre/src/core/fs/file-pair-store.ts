import * as fs from 'node:fs';
import * as path from 'node:path';
import { SreInvalidInputError, type SreErrorSource } from '../errors';
import { MAX_SEGMENT_BYTES } from '../resource-id';
import { ACL } from '../../security/acl';
import { narrowedACL } from './acl-narrowing';
import type { AtomicFiles, SpooledFile } from './atomic-file';
import { isExpired } from './expiry';
import type { FileIo } from './file-io';
import {
  assertNoSymlinkBelow,
  codeOf,
  fileStamp,
  isAbsent,
  StampedTextCache,
  SymlinkInPathError,
  unlinkIfPresent,
  walkFiles,
} from './fs-util';
import { decodeHeader, encodeHeader, type StoredHeader } from './header-codec';
import { KeyedLock } from './keyed-lock';

/** How often a read retries a pair that keeps being replaced under it (by another process). */
const SNAPSHOT_TRIES = 5;

/** The sizes of a pair's files, as last stat'ed. */
interface PairSizes {
  dataBytes: number;
  metaBytes: number;
}

/** The pair of one key as it was on disk together at one instant. */
export interface PairSnapshot {
  /** The data file's stat when it is a regular file: the key exists iff it is. */
  readonly data?: fs.Stats;
  /** A descriptor of that data file, when asked for: it pins this version's bytes (the caller closes it, see `release`). */
  readonly fd?: number;
  /** Decoded metadata; empty (nobody may access) without a metadata file. */
  readonly header: StoredHeader;
  /** Both files' stamps: changes with every commit and header write. `undefined`: missing or expired. */
  readonly version?: string;
  /** The metadata file's text as read (undefined without one): a commit with the same header keeps the file. */
  readonly metaText?: string;
}

/** A read gave up: another process kept replacing the pair while it was read. */
export class ConcurrentChangeError extends Error {
  constructor() {
    super('it kept changing while it was read');
  }
}

export interface FilePairStoreOptions {
  dataRoot: string;
  metaRoot: string;
  /** Temp files, on the same file system as both roots; their `io` is the store's too. */
  files: AtomicFiles;
  /** Told about metadata that cannot be decoded and expired pairs that could not be deleted. */
  warn?: (key: string, problem: string) => void;
  /** Named by the `SreInvalidInputError` of a key that escapes the roots. */
  source?: SreErrorSource;
}

/**
 * Values with a header (ACL, metadata, expiry) as two files: data at `<dataRoot>/<key>`, the
 * header as JSON (see `header-codec`) at `<metaRoot>/<key>`. Each file is replaced atomically
 * (`AtomicFiles`); the *pair* takes two renames, ordered so that every crash point is safe, with
 * one read-side rule: **a key exists iff its data file exists** (metadata without data is an
 * orphan and reads as missing; data without metadata has an empty ACL: nobody).
 * - Create: metadata first, then data. A crash in between leaves an orphan: the write never
 *   happened, and the next writer overwrites it.
 * - Replace: if the new ACL takes a right away from someone, the old metadata is first rewritten
 *   with the rights both ACLs grant (`narrowedACL`); then data; then the new metadata. At any crash
 *   point the live pair's ACL only admits candidates allowed both the old and the new value, and
 *   the key is never gone.
 * - Delete: data first, then metadata (a crash leaves an orphan, i.e. a deleted key).
 * Changes are conditional on the version and compared under a per-key in-process lock, so
 * concurrent writers never pair one writer's data with another's metadata. Reads take no lock
 * unless a change of the key is running (then they wait for it) and re-check the metadata stamp
 * around probing the data, so they return a pair that was on disk together between two changes.
 * Several processes sharing the roots are not coordinated (each file stays whole, a pair may mix).
 * Containment holds on the real path: a key whose files, or any existing folder between a root and
 * them, is a symbolic link is refused (`SreInvalidInputError`) before anything is read, written or
 * deleted, and `keys()` never descends into a linked folder.
 * Errors are the file system's own: a `commit` whose path another key blocks fails with `EISDIR`,
 * `ENOTDIR`, `EEXIST` or `ENOTEMPTY`.
 */
export class FilePairStore {
  readonly dataRoot: string;
  readonly metaRoot: string;
  readonly files: AtomicFiles;
  readonly io: FileIo;
  private readonly lock = new KeyedLock();
  /** Metadata texts by stamp: a read still stats the file but skips re-reading an unchanged one. */
  private readonly metaTexts: StampedTextCache;

  constructor(private readonly options: FilePairStoreOptions) {
    this.dataRoot = path.resolve(options.dataRoot);
    this.metaRoot = path.resolve(options.metaRoot);
    this.files = options.files;
    this.io = options.files.io;
    this.metaTexts = new StampedTextCache(undefined, this.io);
  }

  /** Closes the descriptor a snapshot opened (if any). Never throws: the bytes are in hand or unwanted. */
  async release(snap: PairSnapshot | undefined): Promise<void> {
    if (snap?.fd !== undefined) await this.io.close(snap.fd).catch(() => undefined);
  }

  /** The live pair of `key` (an expired one is deleted on the way); `open` also pins its bytes. */
  async get(key: string, open = false): Promise<PairSnapshot | undefined> {
    const snap = await this.settled(key, open);
    if (snap.version !== undefined) return snap;
    await this.release(snap);
    if (snap.data) await this.reap(key);
    return undefined;
  }

  /**
   * A snapshot that no change of this process was half-way through. The stamp check inside
   * `snapshot` misses one window (a replace renames data, then metadata: between the two the old
   * metadata sits beside the new data), so a read that overlaps a change is taken again behind it.
   */
  private async settled(key: string, open: boolean): Promise<PairSnapshot> {
    if (!this.lock.busy(key)) {
      const snap = await this.snapshot(key, open);
      if (!this.lock.busy(key)) return snap;
      await this.release(snap);
    }
    return this.lock.run(key, () => this.snapshot(key, open));
  }

  /** Publishes the spooled `temp` file as the data of `key` with `header`, iff `key` is still at `ifVersion`. */
  commit(key: string, temp: string, header: StoredHeader, ifVersion: string | undefined): Promise<boolean> {
    return this.lock.run(key, async () => {
      const snap = await this.snapshot(key);
      if (snap.version !== ifVersion) return false;
      const paths = this.paths(key);
      if (snap.version === undefined) {
        // expired leftovers must not become readable under the new ACL
        if (snap.data) await unlinkIfPresent(paths.data, this.io);
        await this.writeMeta(paths.meta, header);
        await this.files.place(temp, paths.data).catch(async (error: unknown) => {
          await unlinkIfPresent(paths.meta, this.io).catch(() => undefined);
          throw error;
        });
        return true;
      }
      const text = encodeHeader(header);
      // the same header (a rewrite of the bytes only): the metadata file stays, one file moves, one
      // fsync; the version still changes, with the data file's stamp
      if (text === snap.metaText) {
        await this.files.place(temp, paths.data);
        return true;
      }
      // the new metadata is flushed before the data moves, so the last step is a bare rename
      const meta = await this.spoolMeta(header, text);
      try {
        const narrowed = narrowedACL(snap.header.acl, header.acl);
        if (narrowed) await this.writeMeta(paths.meta, { ...snap.header, acl: narrowed });
        await this.files.place(temp, paths.data).catch(async (error: unknown) => {
          if (narrowed) await this.writeMeta(paths.meta, snap.header).catch(() => undefined);
          throw error;
        });
        await this.placeMeta(paths.meta, meta);
      } finally {
        await this.files.drop(meta.path);
      }
      return true;
    });
  }

  /** Replaces the header of the live version `ifVersion`, keeping the data; `false` when it changed or is gone. */
  writeHeader(key: string, header: StoredHeader, ifVersion: string | undefined): Promise<boolean> {
    return this.lock.run(key, async () => {
      const { version } = await this.snapshot(key);
      if (version === undefined || version !== ifVersion) return false;
      await this.writeMeta(this.paths(key).meta, header);
      return true;
    });
  }

  /** Deletes the version `ifVersion`, data first; a missing key is `true` (its leftovers go too). */
  remove(key: string, ifVersion: string | undefined): Promise<boolean> {
    return this.lock.run(key, async () => {
      // the version the caller just read, still on disk: both stamps at once settle it (under the
      // lock nothing of this process moves either file); anything else takes the full snapshot
      const onDisk = ifVersion === undefined ? undefined : await this.stampsOf(key);
      if (onDisk !== undefined && onDisk.stamps === ifVersion) {
        await this.removePair(key, onDisk);
        return true;
      }
      const { version } = await this.snapshot(key);
      if (version !== undefined && version !== ifVersion) return false;
      await this.removePair(key);
      return true;
    });
  }

  /** Deletes `key` if it has expired, unless a write renewed it meanwhile. Never throws. */
  async reap(key: string): Promise<boolean> {
    try {
      return await this.lock.run(key, async () => {
        const snap = await this.snapshot(key);
        if (!snap.data || !isExpired(snap.header.expiresAt)) return false;
        await this.removePair(key);
        return true;
      });
    } catch (error) {
      this.options.warn?.(key, `could not delete it once expired (${codeOf(error)})`);
      return false;
    }
  }

  /** Deletes metadata without data older than `graceMs` (younger may be a create in progress elsewhere). */
  removeOrphan(key: string, graceMs: number): Promise<boolean> {
    return this.lock.run(key, async () => {
      const { meta, data } = await this.realPaths(key);
      const [metaStat, dataStat] = await Promise.all([this.io.statIfAny(meta), this.io.statIfAny(data)]);
      if (!metaStat?.isFile() || dataStat?.isFile() || Date.now() - metaStat.mtimeMs < graceMs) return false;
      await unlinkIfPresent(meta, this.io);
      this.metaTexts.forget(meta);
      return true;
    });
  }

  /** Every key with a metadata file (live, expired or orphaned), for sweeps. */
  keys(): AsyncGenerator<string> {
    return walkFiles(this.metaRoot);
  }

  /**
   * The pair as it was together on disk: the metadata stamp is the same before and after the data
   * is probed. `remember: false` keeps one-off reads (sweeps) out of the metadata cache.
   */
  async snapshot(key: string, open = false, remember = true): Promise<PairSnapshot> {
    const paths = this.paths(key);
    // the real-path check runs beside the reads, which change nothing: their result is returned,
    // and any change that follows is made, only once it passed (it costs no extra round trip)
    const contained = this.realPaths(key);
    contained.catch(() => undefined);
    let snap: PairSnapshot;
    try {
      snap = await this.readPair(key, paths, open, remember);
    } catch (error) {
      await contained;
      throw error;
    }
    try {
      await contained;
    } catch (error) {
      await this.release(snap);
      throw error;
    }
    return snap;
  }

  private async readPair(
    key: string,
    paths: { data: string; meta: string },
    open: boolean,
    remember: boolean,
  ): Promise<PairSnapshot> {
    const { io } = this;
    for (let tries = 1; tries <= SNAPSHOT_TRIES; tries++) {
      let fd: number | undefined;
      const close = () => (fd === undefined ? undefined : io.close(fd).catch(() => undefined));
      try {
        const meta = await this.metaTexts.read(paths.meta, remember);
        fd = open ? await io.open(paths.data, 'r').catch(absent) : undefined;
        let stat: fs.Stats | undefined;
        let after: fs.Stats | undefined;
        // an open descriptor already pins the version probed: its fstat and the second look at the
        // metadata may overlap; a bare stat is the probe itself and must come first
        if (fd !== undefined) [stat, after] = await Promise.all([io.fstat(fd), io.statIfAny(paths.meta)]);
        else {
          stat = await io.statIfAny(paths.data);
          after = await io.statIfAny(paths.meta);
        }
        if ((after?.isFile() ? fileStamp(after) : undefined) !== meta?.stamp) {
          await close();
          continue;
        }
        if (!stat?.isFile()) {
          // metadata without data is an orphan: nothing reads its header, so it is not decoded
          await close();
          return { header: emptyHeader() };
        }
        const header = meta ? decodeHeader(meta.text, (why) => this.options.warn?.(key, why)) : emptyHeader();
        const version = isExpired(header.expiresAt) ? undefined : `${meta?.stamp ?? '-'}|${fileStamp(stat)}`;
        return { data: stat, fd, header, version, metaText: meta?.text };
      } catch (error) {
        await close();
        throw error;
      }
    }
    throw new ConcurrentChangeError();
  }

  /**
   * `metaStamp|dataStamp` as a version would spell it, from two parallel stats (and the real-path
   * check); `undefined` when either file is not a regular file. Only ever compared with a version
   * a snapshot produced, which also vouched for the header (decodable, not expired).
   */
  private async stampsOf(key: string): Promise<(PairSizes & { stamps: string }) | undefined> {
    const { data, meta } = this.paths(key);
    const { io } = this;
    const [metaStat, dataStat] = await Promise.all([io.statIfAny(meta), io.statIfAny(data), this.realPaths(key)]);
    if (!metaStat?.isFile() || !dataStat?.isFile()) return undefined;
    return {
      stamps: `${fileStamp(metaStat)}|${fileStamp(dataStat)}`,
      dataBytes: dataStat.size,
      metaBytes: metaStat.size,
    };
  }

  /**
   * Paths of a key; one that resolves outside either root, or with a segment longer than a file name
   * may be, is refused (a second wall behind id checks).
   */
  paths(key: string): { data: string; meta: string } {
    if (typeof key !== 'string' || key.includes('\0'))
      throw new SreInvalidInputError('invalid resource id', this.options.source);
    // a name no file system takes: bad input, the same answer for a read as for a write
    if (key.split('/').some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES))
      throw new SreInvalidInputError(
        `invalid resource id: a path segment is longer than ${MAX_SEGMENT_BYTES} bytes (the longest file name file systems take)`,
        this.options.source,
      );
    const data = path.resolve(this.dataRoot, key);
    const meta = path.resolve(this.metaRoot, key);
    if (!data.startsWith(this.dataRoot + path.sep) || !meta.startsWith(this.metaRoot + path.sep))
      throw new SreInvalidInputError(
        'invalid resource id: it resolves outside the storage folder',
        this.options.source,
      );
    return { data, meta };
  }

  /**
   * `paths`, checked on the real path: neither file, nor any existing folder between its root and
   * it, may be a symbolic link (a linked folder would let a write create files outside the root).
   * Every operation goes through here, by way of `snapshot` or directly, before it touches a file.
   */
  async realPaths(key: string): Promise<{ data: string; meta: string }> {
    const paths = this.paths(key);
    try {
      await Promise.all([
        assertNoSymlinkBelow(this.dataRoot, paths.data, this.io),
        assertNoSymlinkBelow(this.metaRoot, paths.meta, this.io),
      ]);
    } catch (error) {
      if (!(error instanceof SymlinkInPathError)) throw error;
      throw new SreInvalidInputError(
        'invalid resource id: a symbolic link is on its path in the storage folder, which is never followed',
        this.options.source,
      );
    }
    return paths;
  }

  /** Data first: a resource exists iff its data file does. `sizes` lets small files go inline (`FileIo.unlink`). */
  private async removePair(key: string, sizes?: PairSizes): Promise<void> {
    const { data, meta } = this.paths(key);
    await unlinkIfPresent(data, this.io, sizes?.dataBytes);
    await unlinkIfPresent(meta, this.io, sizes?.metaBytes);
    this.metaTexts.forget(meta);
  }

  private async spoolMeta(header: StoredHeader, text = encodeHeader(header)): Promise<SpooledFile & { text: string }> {
    return { ...(await this.files.spool(text)), text };
  }

  /** A rename keeps inode and mtime, so the flushed temp file's stamp is the placed file's stamp. */
  private async placeMeta(file: string, spooled: SpooledFile & { text: string }): Promise<void> {
    await this.files.place(spooled.path, file);
    this.metaTexts.remember(file, { stamp: fileStamp(spooled.stat), text: spooled.text });
  }

  private async writeMeta(file: string, header: StoredHeader): Promise<void> {
    const spooled = await this.spoolMeta(header);
    try {
      await this.placeMeta(file, spooled);
    } finally {
      await this.files.drop(spooled.path);
    }
  }
}

function emptyHeader(): StoredHeader {
  return { acl: new ACL(), metadata: {} };
}

function absent(error: unknown): undefined {
  if (isAbsent(error)) return undefined;
  throw error;
}
