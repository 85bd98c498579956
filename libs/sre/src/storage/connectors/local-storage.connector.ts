import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { LRUCache } from 'lru-cache';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import type { ConnectorContext } from '../../core/connector';
import { SreConfigError, SreError, SreBackendError, SreInvalidInputError } from '../../core/errors';
import type { Level, Role } from '../../security/access-candidate';
import { ACL, IACL } from '../../security/acl';
import { ResourceHeader, StorageData, StorageMetadata, StorageService, StorageStat } from '../storage.service';

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
}

const DATA_DIR = 'local';
const META_DIR = '.local.metadata';
const TEMP_DIR = '.tmp';
const README = 'README_IMPORTANT.txt';
const README_TEXT = `This folder holds the metadata (access control list, content type, expiry and custom keys) of the
files stored in the sibling "local" folder, one JSON file per resource at the same relative path.

Do not edit, move or delete these files by hand: a resource whose metadata file is missing or
damaged can no longer be read or written by anyone.
`;
/** A metadata file without data younger than this may belong to a write in progress. */
const ORPHAN_GRACE_MS = 60_000;
/** A temp file untouched for this long belongs to a writer that died. */
const STALE_TEMP_MS = 3_600_000;

/** Write-side buffer of streamed uploads: what a stream may hold in memory beyond the source's own. */
const STREAM_CHUNK = 256 * 1024;

const readFileCb = promisify(fs.readFile);
const fsp = fs.promises;

/** What is on disk for one id, read without taking the lock. */
interface Snapshot {
  /** The data file exists and is a regular file. */
  hasData: boolean;
  size: number;
  /** Parsed metadata file; `undefined` when there is none. */
  header?: StoredHeader;
}

interface StoredHeader {
  metadata: StorageMetadata;
  acl: ACL;
  expiresAt?: number;
}

interface SpooledMeta {
  temp: string;
  text: string;
  stamp: string;
}

interface ResourcePaths {
  data: string;
  meta: string;
}

/** Counts of what one sweep removed. */
export interface LocalStorageSweepResult {
  expired: number;
  orphans: number;
  temps: number;
}

/**
 * Blobs on the local file system, in the original's layout: data in `<folder>/local/<id>`,
 * metadata in `<folder>/.local.metadata/<id>` (a JSON object of strings; `acl` in compact form,
 * `expiresAt` in epoch milliseconds, other non-string values JSON-encoded).
 *
 * Every file is written to `<folder>/.tmp`, fsynced and renamed over the old one, so each file is
 * always whole. The data/metadata *pair* takes two renames; their order makes every crash point
 * safe, with one read-side rule: **a resource exists iff its data file exists** (metadata without
 * data is an orphan and reads as missing; data without metadata has an empty ACL: nobody).
 * - Create: metadata first, then data. A crash in between leaves an orphan: the write never
 *   happened, and the next writer overwrites the orphan.
 * - Replace: if the new ACL takes a right away from someone, the old metadata is first rewritten
 *   with the intersection of both ACLs; then data; then the new metadata. At any crash point the
 *   live pair's ACL only admits candidates allowed both the old and the new content, and the
 *   resource is never gone.
 * - Delete: data first, then metadata (a crash leaves an orphan, i.e. a deleted resource).
 * Commits of one id are serialised by an in-process lock, so concurrent writers never pair one
 * writer's data with another's metadata; writers in several processes sharing one folder are not
 * coordinated (each file stays whole, the pair may mix).
 */
export class LocalStorageConnector extends StorageService {
  static readonly connectorName = 'LocalStorage';
  static readonly settingsClass = LocalStorageSettings;

  readonly folder: string;
  private readonly dataRoot: string;
  private readonly metaRoot: string;
  private readonly tempRoot: string;
  private readonly fsync: boolean;
  private readonly sweepIntervalMs: number;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly activeTemps = new Set<string>();
  /**
   * Metadata text by id, stamped with the file's inode, size and mtime: every access still
   * stats the file (so other processes' writes are seen at once) but skips re-reading it.
   */
  private readonly metaTexts = new LRUCache<string, { stamp: string; text: string }>({ max: 10_000 });
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<LocalStorageSweepResult>;
  private stopping = false;

  constructor(
    private readonly settings: LocalStorageSettings = {},
    context?: ConnectorContext,
  ) {
    super(context);
    this.folder = path.resolve(settings.folder ?? path.join(this.context.dataDir, 'storage'));
    this.dataRoot = path.join(this.folder, DATA_DIR);
    this.metaRoot = path.join(this.folder, META_DIR);
    this.tempRoot = path.join(this.folder, TEMP_DIR);
    this.fsync = settings.fsync ?? true;
    this.sweepIntervalMs = (settings.sweepIntervalSeconds ?? 300) * 1000;
  }

  protected override async onConnect(): Promise<void> {
    this.stopping = false;
    try {
      for (const dir of [this.folder, this.dataRoot, this.metaRoot, this.tempRoot]) {
        await fsp.mkdir(dir, { recursive: true });
      }
      await this.probe();
    } catch (error) {
      // the folder is a setting: name the field, not its value (W20: never fall back elsewhere)
      const field = this.settings.folder !== undefined ? 'settings.folder' : 'the data dir (dataDir)';
      throw new SreConfigError([
        `${this.label()}: cannot create or write the storage folder given by ${field} (${codeOf(error)})`,
      ]);
    }
    await fsp.writeFile(path.join(this.metaRoot, README), README_TEXT, { flag: 'wx' }).catch((error) => {
      // an existing README (or a resource of that name's metadata) is left alone
      if (codeOf(error) !== 'EEXIST') this.logger.warn(`could not write ${META_DIR}/${README} (${codeOf(error)})`);
    });
    await this.removeStaleTemps().catch((error) => this.logger.warn(`temp cleanup failed (${codeOf(error)})`));
    if (this.sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => {
        this.sweep().catch((error) => this.logger.warn(`sweep failed (${codeOf(error)})`));
      }, this.sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  protected override async onDisconnect(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.sweeping?.catch(() => undefined);
  }

  protected override async onPing(): Promise<void> {
    try {
      await this.probe();
    } catch (error) {
      throw this.fsError(error, 'checking the folder is writable');
    }
  }

  protected async readResource(id: string): Promise<Buffer | undefined> {
    await this.ensureReady();
    const paths = this.resolve(id);
    if (!(await this.notExpired(id, paths))) return undefined;
    try {
      return await readFileCb(paths.data);
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw this.fsError(error, `reading '${id}'`);
    }
  }

  protected async readResourceStream(id: string): Promise<Readable | undefined> {
    await this.ensureReady();
    const paths = this.resolve(id);
    if (!(await this.notExpired(id, paths))) return undefined;
    let handle: FileHandle;
    try {
      handle = await fsp.open(paths.data, 'r');
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw this.fsError(error, `opening '${id}'`);
    }
    // the open descriptor pins this version: a concurrent replace or delete does not cut the stream
    try {
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        return undefined;
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw this.fsError(error, `opening '${id}'`);
    }
    return handle.createReadStream();
  }

  protected async writeResource(id: string, data: StorageData, acl: ACL, metadata: StorageMetadata): Promise<void> {
    await this.ensureReady();
    const paths = this.resolve(id);
    const encoded = this.encodeMetadata(metadata);
    const temp = await this.spool(data, id);
    try {
      await this.withLock(id, () => this.commit(id, paths, temp, acl, encoded));
    } finally {
      await this.dropTemp(temp);
    }
  }

  protected async deleteResource(id: string): Promise<void> {
    await this.ensureReady();
    const paths = this.resolve(id);
    await this.withLock(id, () => this.removePair(id, paths));
  }

  protected async statResource(id: string): Promise<StorageStat | undefined> {
    await this.ensureReady();
    const paths = this.resolve(id);
    const snap = await this.live(id, paths);
    if (!snap) return undefined;
    const metadata = snap.header?.metadata ?? {};
    return {
      size: snap.size,
      contentType: typeof metadata.ContentType === 'string' ? metadata.ContentType : undefined,
      expiresAt: snap.header?.expiresAt,
      metadata,
    };
  }

  protected async readACL(id: string): Promise<ACL | undefined> {
    await this.ensureReady();
    const snap = await this.live(id, this.resolve(id));
    return snap && (snap.header?.acl ?? new ACL());
  }

  protected async updateResource(id: string, update: (current: ResourceHeader) => ResourceHeader): Promise<boolean> {
    await this.ensureReady();
    const paths = this.resolve(id);
    return this.withLock(id, async () => {
      const snap = await this.snapshot(id, paths);
      if (!this.isLive(snap)) return false;
      const next = update({
        metadata: { ...(snap.header?.metadata ?? {}) },
        acl: snap.header?.acl.clone() ?? new ACL(),
      });
      await this.writeMeta(id, paths, this.encodeMetadata(next.metadata), next.acl, snap.header?.expiresAt);
      return true;
    });
  }

  protected async expireResource(id: string, expiresAt: number): Promise<void> {
    await this.ensureReady();
    const paths = this.resolve(id);
    await this.withLock(id, async () => {
      const snap = await this.snapshot(id, paths);
      if (!this.isLive(snap)) return;
      await this.writeMeta(
        id,
        paths,
        this.encodeMetadata(snap.header?.metadata ?? {}),
        snap.header?.acl ?? new ACL(),
        expiresAt,
      );
    });
  }

  /**
   * Deletes expired resources, metadata left without data by an interrupted write, and temp files
   * of writers that died. Runs on the `sweepIntervalSeconds` timer; call it to purge now.
   */
  sweep(): Promise<LocalStorageSweepResult> {
    this.sweeping ??= this.runSweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async runSweep(): Promise<LocalStorageSweepResult> {
    const result: LocalStorageSweepResult = { expired: 0, orphans: 0, temps: await this.removeStaleTemps() };
    for await (const id of this.walk(this.metaRoot, '')) {
      if (this.stopping) break;
      if (id === README) continue;
      const paths = this.resolve(id);
      // a sweep touches every id once: keep it out of the cache of hot ones
      const snap = await this.snapshot(id, paths, false).catch(() => undefined);
      if (!snap) continue;
      if (snap.hasData && this.isExpired(snap)) {
        if (await this.reap(id, paths)) result.expired++;
      } else if (!snap.hasData && (await this.removeOrphan(id, paths))) {
        result.orphans++;
      }
    }
    return result;
  }

  private async *walk(dir: string, prefix: string): AsyncGenerator<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const id = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) yield* this.walk(path.join(dir, entry.name), id);
      else if (entry.isFile()) yield id;
    }
  }

  private async removeOrphan(id: string, paths: ResourcePaths): Promise<boolean> {
    return this.withLock(id, async () => {
      const [stat, dataStat] = await Promise.all([statOrUndefined(paths.meta), statOrUndefined(paths.data)]);
      if (!stat?.isFile() || dataStat?.isFile() || Date.now() - stat.mtimeMs < ORPHAN_GRACE_MS) return false;
      await unlinkIfPresent(paths.meta);
      return true;
    });
  }

  private async removeStaleTemps(): Promise<number> {
    let removed = 0;
    for (const name of await fsp.readdir(this.tempRoot)) {
      const file = path.join(this.tempRoot, name);
      if (this.activeTemps.has(file)) continue;
      const stat = await statOrUndefined(file);
      if (stat && Date.now() - stat.mtimeMs > STALE_TEMP_MS) {
        await fsp.rm(file, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }

  // ---- commit protocol (see the class comment) -------------------------------------------------

  private async commit(
    id: string,
    paths: ResourcePaths,
    temp: string,
    acl: ACL,
    metadata: Record<string, string>,
  ): Promise<void> {
    const snap = await this.snapshot(id, paths);
    if (this.isLive(snap)) {
      const current = snap.header?.acl ?? new ACL();
      // owners stay owners (W19) even when another write changed them after the caller's check
      const next = acl.clone().merge(current.owners());
      // the new metadata is flushed before the data moves, so the last step is a bare rename
      const meta = await this.spoolMeta(id, metadata, next, undefined);
      try {
        const narrowed = narrowing(current, next);
        if (narrowed) {
          const old = this.encodeMetadata(snap.header?.metadata ?? {});
          await this.writeMeta(id, paths, old, narrowed, snap.header?.expiresAt);
        }
        try {
          await this.place(id, temp, paths.data);
        } catch (error) {
          if (narrowed && snap.header) {
            await this.writeMeta(
              id,
              paths,
              this.encodeMetadata(snap.header.metadata),
              current,
              snap.header.expiresAt,
            ).catch(() => undefined);
          }
          throw error;
        }
        await this.placeMeta(id, paths, meta);
      } finally {
        await this.dropTemp(meta.temp);
      }
      return;
    }
    // expired leftovers must not become readable under the new ACL
    if (snap.hasData) {
      await unlinkIfPresent(paths.data).catch((error) => Promise.reject(this.fsError(error, `replacing '${id}'`)));
    }
    await this.writeMeta(id, paths, metadata, acl, undefined);
    try {
      await this.place(id, temp, paths.data);
    } catch (error) {
      await unlinkIfPresent(paths.meta).catch(() => undefined);
      throw error;
    }
  }

  private async removePair(id: string, paths: ResourcePaths): Promise<void> {
    try {
      await unlinkIfPresent(paths.data);
      await unlinkIfPresent(paths.meta);
    } catch (error) {
      throw this.fsError(error, `deleting '${id}'`);
    }
  }

  /** Deletes an expired resource, unless a write renewed it meanwhile. */
  private async reap(id: string, paths: ResourcePaths): Promise<boolean> {
    try {
      return await this.withLock(id, async () => {
        const snap = await this.snapshot(id, paths);
        if (!snap.hasData || !this.isExpired(snap)) return false;
        await this.removePair(id, paths);
        return true;
      });
    } catch (error) {
      this.logger.warn(`could not delete expired resource '${id}' (${codeOf(error)})`);
      return false;
    }
  }

  /** Streams `data` into a new temp file and flushes it; the temp file is gone if this fails. */
  private async spool(data: StorageData, id: string, flushed?: (stat: fs.Stats) => void): Promise<string> {
    const bytes = toBuffer(data);
    if (bytes === undefined && !isReadableLike(data)) {
      throw new SreInvalidInputError('data must be a string, Buffer, Uint8Array or Readable', this.source());
    }
    const temp = path.join(this.tempRoot, randomUUID());
    this.activeTemps.add(temp);
    let handle: FileHandle | undefined;
    const failed = (doing: string) => (error: unknown) => Promise.reject(this.fsError(error, `${doing} '${id}'`));
    try {
      const open = await fsp.open(temp, 'wx').catch(failed('writing'));
      handle = open;
      if (bytes) {
        await writeAll(open, bytes).catch(failed('writing'));
      } else {
        // pipeline applies backpressure: the source is paused while the disk catches up
        await pipeline(
          data as Readable | AsyncIterable<unknown>,
          new Transform({
            writableObjectMode: true,
            writableHighWaterMark: 1,
            readableHighWaterMark: STREAM_CHUNK,
            transform: (chunk, _encoding, done) => done(...this.asBytes(chunk)),
          }),
          fs.createWriteStream(temp, { fd: open.fd, autoClose: false, highWaterMark: STREAM_CHUNK }),
        ).catch((error: unknown) =>
          Promise.reject(isSystemError(error) ? this.fsError(error, `writing '${id}'`) : error),
        );
      }
      if (this.fsync) await open.sync().catch(failed('flushing'));
      if (flushed) flushed(await open.stat().catch(failed('writing')));
      handle = undefined;
      await open.close().catch(failed('writing'));
      return temp;
    } catch (error) {
      // a source stream's own error reaches the caller as it is; file-system errors are wrapped
      await handle?.close().catch(() => undefined);
      this.activeTemps.delete(temp);
      await fsp.rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  private asBytes(chunk: unknown): [Error | null, Buffer?] {
    const buffer = toBuffer(chunk);
    return buffer
      ? [null, buffer]
      : [new SreInvalidInputError('a data stream must yield strings, Buffers or Uint8Arrays', this.source())];
  }

  /** Atomically puts a flushed temp file at `target`, creating parent folders on demand. */
  private async place(id: string, temp: string, target: string): Promise<void> {
    try {
      await fsp.rename(temp, target);
      this.activeTemps.delete(temp);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT' || !(await statOrUndefined(temp))) throw this.placeError(error, id);
      try {
        await fsp.mkdir(path.dirname(target), { recursive: true });
        await fsp.rename(temp, target);
        this.activeTemps.delete(temp);
      } catch (retryError) {
        throw this.placeError(retryError, id);
      }
    }
  }

  private placeError(error: unknown, id: string): SreError {
    const code = codeOf(error);
    if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
      return new SreInvalidInputError(
        `cannot write '${id}': a resource or folder on its path is in the way`,
        this.source(),
      );
    }
    return this.fsError(error, `writing '${id}'`);
  }

  private async writeMeta(
    id: string,
    paths: ResourcePaths,
    metadata: Record<string, string>,
    acl: ACL,
    expiresAt: number | undefined,
  ): Promise<void> {
    const spooled = await this.spoolMeta(id, metadata, acl, expiresAt);
    try {
      await this.placeMeta(id, paths, spooled);
    } finally {
      await this.dropTemp(spooled.temp);
    }
  }

  private async spoolMeta(
    id: string,
    metadata: Record<string, string>,
    acl: ACL,
    expiresAt: number | undefined,
  ): Promise<SpooledMeta> {
    const stored: Record<string, string> = { ...metadata, acl: acl.serialize() };
    if (expiresAt !== undefined) stored.expiresAt = String(expiresAt);
    const text = JSON.stringify(stored);
    let stamp = '';
    const temp = await this.spool(text, id, (stat) => (stamp = stampOf(stat)));
    return { temp, text, stamp };
  }

  /** A rename keeps inode and mtime, so the flushed temp file's stamp is the placed file's stamp. */
  private async placeMeta(id: string, paths: ResourcePaths, spooled: SpooledMeta): Promise<void> {
    await this.place(id, spooled.temp, paths.meta);
    this.metaTexts.set(id, { stamp: spooled.stamp, text: spooled.text });
  }

  /** Removes a temp file that a failed step left behind (`place` forgets the ones it renamed). */
  private async dropTemp(temp: string): Promise<void> {
    if (!this.activeTemps.delete(temp)) return;
    await fsp.rm(temp, { force: true }).catch(() => undefined);
  }

  // ---- reading ---------------------------------------------------------------------------------

  private async snapshot(id: string, paths: ResourcePaths, cache = true): Promise<Snapshot> {
    const [text, stat] = await Promise.all([
      this.readMetaText(id, paths.meta, cache),
      statOrUndefined(paths.data).catch((error) => Promise.reject(this.fsError(error, `reading '${id}'`))),
    ]);
    const hasData = stat?.isFile() === true;
    return {
      hasData,
      size: hasData ? stat!.size : 0,
      header: text === undefined ? undefined : this.decodeHeader(id, text),
    };
  }

  private async readMetaText(id: string, file: string, cache = true): Promise<string | undefined> {
    try {
      const stat = await fsp.stat(file);
      if (!stat.isFile()) return undefined;
      const stamp = stampOf(stat);
      const cached = this.metaTexts.get(id);
      if (cached?.stamp === stamp) return cached.text;
      // if the file is replaced between stat and read, the stamp is stale and the next access re-reads
      const text = await readFileCb(file, 'utf8');
      if (cache) this.metaTexts.set(id, { stamp, text });
      return text;
    } catch (error) {
      if (!isAbsent(error)) throw this.fsError(error, `reading metadata of '${id}'`);
      this.metaTexts.delete(id);
      return undefined;
    }
  }

  /** The snapshot of a live resource, or `undefined` (an expired one is deleted on the way). */
  private async live(id: string, paths: ResourcePaths): Promise<Snapshot | undefined> {
    const snap = await this.snapshot(id, paths);
    if (!snap.hasData) return undefined;
    if (this.isExpired(snap)) {
      await this.reap(id, paths);
      return undefined;
    }
    return snap;
  }

  /** False (and the resource deleted) when it has expired; reads only the metadata. */
  private async notExpired(id: string, paths: ResourcePaths): Promise<boolean> {
    const text = await this.readMetaText(id, paths.meta);
    const expiresAt = text === undefined ? undefined : this.decodeHeader(id, text).expiresAt;
    if (expiresAt === undefined || expiresAt > Date.now()) return true;
    await this.reap(id, paths);
    return false;
  }

  private isLive(snap: Snapshot): boolean {
    return snap.hasData && !this.isExpired(snap);
  }

  private isExpired(snap: Snapshot): boolean {
    const expiresAt = snap.header?.expiresAt;
    return expiresAt !== undefined && expiresAt <= Date.now();
  }

  private decodeHeader(id: string, text: string): StoredHeader {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.logger.warn(`metadata of '${id}' is not a JSON object: nobody can access it until it is rewritten by hand`);
      return { metadata: {}, acl: new ACL() };
    }
    const metadata: StorageMetadata = {};
    let acl = new ACL();
    let expiresAt: number | undefined;
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      if (key === 'acl') {
        try {
          acl = typeof value === 'string' ? ACL.parse(value) : ACL.from(value as IACL);
        } catch {
          this.logger.warn(`the ACL of '${id}' cannot be parsed: nobody can access it`);
        }
      } else if (key === 'expiresAt') {
        const n = Number(value);
        if (Number.isFinite(n)) expiresAt = n;
      } else if (key !== '__proto__') {
        metadata[key] = typeof value === 'string' ? decodeValue(value) : value;
      }
    }
    return { metadata, acl, expiresAt };
  }

  /**
   * Strings are stored as they are unless they would parse as JSON (then they are JSON-encoded, so
   * `"42"` comes back as a string, not a number); every other value is JSON-encoded. Reading parses
   * each value, falling back to the raw string, which also reads files the original wrote.
   */
  private encodeMetadata(metadata: StorageMetadata): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (key === 'acl' || key === 'expiresAt' || key === '__proto__' || value === undefined) continue;
      if (typeof value === 'string') {
        out[key] = parsesAsJson(value) ? JSON.stringify(value) : value;
        continue;
      }
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch {
        json = undefined;
      }
      if (json === undefined) {
        throw new SreInvalidInputError(`metadata '${key}' is not JSON-serialisable`, this.source());
      }
      out[key] = json;
    }
    return out;
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Paths of an id; the service has validated it, this is the second wall (W22). */
  private resolve(id: string): ResourcePaths {
    if (typeof id !== 'string' || id.includes('\0')) {
      throw new SreInvalidInputError('invalid resource id', this.source());
    }
    const data = path.resolve(this.dataRoot, id);
    const meta = path.resolve(this.metaRoot, id);
    if (!data.startsWith(this.dataRoot + path.sep) || !meta.startsWith(this.metaRoot + path.sep)) {
      throw new SreInvalidInputError('invalid resource id: it resolves outside the storage folder', this.source());
    }
    return { data, meta };
  }

  private async withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.locks.set(id, tail);
    if (previous) await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }

  private async probe(): Promise<void> {
    const file = path.join(this.tempRoot, `probe-${randomUUID()}`);
    await fsp.writeFile(file, '');
    await fsp.rm(file, { force: true });
  }

  /** File-system errors name the operation and the code; never the folder (a setting). */
  private fsError(error: unknown, doing: string): SreError {
    if (error instanceof SreError) return error;
    return new SreBackendError(`${this.label()}: ${doing}: ${codeOf(error)}`, this.source(), { cause: error });
  }
}

/**
 * The ACL to hold while data is swapped from content guarded by `current` to content guarded by
 * `next`: the rights both grant, or `undefined` when `next` takes nothing away (no extra step).
 */
function narrowing(current: ACL, next: ACL): ACL | undefined {
  if (current.hashAlgorithm !== next.hashAlgorithm) return new ACL(current.hashAlgorithm);
  const mine = current.toJSON().entries ?? {};
  const theirs = next.toJSON().entries ?? {};
  const kept: IACL = { hashAlgorithm: current.hashAlgorithm, entries: {} };
  let lost = false;
  for (const [role, owners] of Object.entries(mine) as [Role, Record<string, Level[]>][]) {
    for (const [key, levels] of Object.entries(owners)) {
      const have = effective(levels);
      const allowed = effective(theirs[role]?.[key] ?? []);
      const both = [...have].filter((level) => allowed.has(level));
      if (both.length < have.size) lost = true;
      if (both.length) (kept.entries![role] ??= {})[key] = both;
    }
  }
  return lost ? ACL.fromObject(kept) : undefined;
}

/** What a level list lets a candidate do at decision time (owner implies read and write). */
function effective(levels: readonly Level[]): Set<Level> {
  const set = new Set<Level>(levels.filter((level) => level !== 'none'));
  if (set.has('owner')) set.add('read').add('write');
  return set;
}

function toBuffer(data: unknown): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

function isReadableLike(data: unknown): boolean {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}

function parsesAsJson(value: string): boolean {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

function decodeValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** An error raised by a system call (file system, socket), as opposed to one a stream made up. */
function isSystemError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string';
}

function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error';
}

/** The path is not there as a file: missing, or a folder / a file in the way of its parents. */
function isAbsent(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * Identifies one version of a metadata file. Every write is a new inode; an inode number reused
 * later also needs the same size and the same sub-microsecond mtime to collide.
 */
function stampOf(stat: fs.Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

async function statOrUndefined(file: string): Promise<fs.Stats | undefined> {
  try {
    return await fsp.stat(file);
  } catch (error) {
    if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}
