import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import { createConnectorContext, labelOf, sourceOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreBackendError, SreError } from '../../core/errors';
import { AtomicFiles } from '../../core/fs/atomic-file';
import { isExpired, Sweeper } from '../../core/fs/expiry';
import { codeOf, ensureDir, isAbsent } from '../../core/fs/fs-util';
import { KeyedLock } from '../../core/fs/keyed-lock';
import { ACL } from '../../security/acl';
import type { CacheBackend, CacheData, CacheEntry, CacheInfo, CacheInfoUpdate } from '../cache.backend';
import {
  encodeEntryFile,
  encodeValue,
  localCacheFileName,
  readEntryFile,
  unlinkQuietly,
  valueOf,
  type FileHeader,
} from './local-cache-file';

export { localCacheFileName } from './local-cache-file';

const fsp = fs.promises;

export class LocalStorageCacheSettings {
  /** Root folder; created when missing (default `<dataDir>/cache`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  folder?: string;

  /**
   * fsync every file before it replaces the previous version, so that a power loss leaves the old
   * or the new entry, never a torn file. Turn off only for scratch data (tests).
   */
  @IsOptional()
  @IsBoolean()
  fsync?: boolean = true;

  /**
   * Seconds between background sweeps that delete expired entries and stale temp files; `0` turns
   * the sweep off (expired keys still read as missing and are deleted when seen).
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(604_800)
  sweepIntervalSeconds?: number = 60;
}

/** Counts of what one sweep removed. */
export interface LocalStorageCacheSweepResult {
  expired: number;
  temps: number;
}

/** One entry as read from disk, at one instant (one file). */
interface StoredEntry extends CacheInfo {
  readonly header: FileHeader;
  readonly version: string;
  /** The body bytes, when read. */
  readonly body?: Buffer;
}

const ENTRIES = 'entries';
const TEMP = '.tmp';
/** A temp file untouched for this long belongs to a writer that died. */
const STALE_TEMP_MS = 3_600_000;

/**
 * A cache on the local file system, one file per key in `<folder>/entries/` (name: see
 * `localCacheFileName`); writes in progress in `<folder>/.tmp`. A file holds the whole entry, so
 * value, metadata, ACL and expiry change together: a first line of JSON (the full key, a random
 * write id, the compact ACL, the metadata text, `exp` in epoch ms, the value's type and the body's
 * length), then the value's bytes (a string's UTF-8, a Buffer as is, an object's JSON text; numbers,
 * booleans and `null` live in the header). Every write goes to a temp file, is fsynced (unless
 * `fsync: false`) and renamed over the old one, so a reader or a crash sees the old entry or the
 * new one. The version is the write id; conditional writes compare it under a per-key in-process
 * lock (several processes sharing one folder are not coordinated: each file stays whole). An
 * expired entry is missing at once, deleted when seen and by the sweep. A file that cannot be
 * decoded reads as missing, is reported with a warning, and is replaced by the next write.
 */
export class LocalStorageCacheConnector implements CacheBackend {
  static readonly connectorName = 'LocalStorage';
  static readonly settingsClass = LocalStorageCacheSettings;

  readonly folder: string;
  private readonly entriesDir: string;
  private readonly files: AtomicFiles;
  private readonly lock = new KeyedLock();
  private readonly sweeper: Sweeper<LocalStorageCacheSweepResult>;

  constructor(
    private readonly settings: LocalStorageCacheSettings = {},
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'Cache',
      connector: 'LocalStorage',
    }),
  ) {
    this.folder = path.resolve(settings.folder ?? path.join(context.dataDir, 'cache'));
    this.entriesDir = path.join(this.folder, ENTRIES);
    this.files = new AtomicFiles(path.join(this.folder, TEMP), settings.fsync ?? true);
    this.sweeper = new Sweeper(() => this.runSweep(), context.logger, 'cache sweep');
  }

  async connect(): Promise<void> {
    await this.guard('creating the cache folder', async () => {
      await ensureDir(this.entriesDir);
      await ensureDir(this.files.tempDir);
    });
    await this.files.removeStale(STALE_TEMP_MS).catch((error: unknown) => {
      this.context.logger.warn(`temp cleanup failed (${codeOf(error)})`);
    });
    this.sweeper.start((this.settings.sweepIntervalSeconds ?? 60) * 1000);
  }

  disconnect(): Promise<void> {
    return this.sweeper.stop();
  }

  ping(): Promise<void> {
    return this.guard('checking the folder', async () => {
      await fsp.access(this.entriesDir, fs.constants.W_OK);
    });
  }

  /** The file of `key` (for tests and tools). */
  fileOf(key: string): string {
    return path.join(this.entriesDir, localCacheFileName(key));
  }

  readInfo(key: string): Promise<CacheInfo | undefined> {
    return this.guard('reading a cache key', async () => {
      const entry = await this.live(key, false);
      return entry && { acl: entry.acl, expiresAt: entry.expiresAt, version: entry.version };
    });
  }

  readValue(key: string, version: Version): Promise<CacheData | undefined> {
    return this.guard('reading a cache key', async () => {
      const entry = await this.live(key, true);
      return entry !== undefined && entry.version === version ? valueOf(entry.header, entry.body!) : undefined;
    });
  }

  readMetadata(key: string, version: Version): Promise<string | undefined> {
    return this.guard('reading a cache key', async () => {
      const entry = await this.live(key, false);
      return entry !== undefined && entry.version === version ? entry.header.meta : undefined;
    });
  }

  write(key: string, entry: CacheEntry, ifVersion: Version | undefined): Promise<boolean> {
    return this.guard('writing a cache key', () =>
      this.lock.run(localCacheFileName(key), async () => {
        if ((await this.live(key, false, true))?.version !== ifVersion) return false;
        const { type, num, body } = encodeValue(entry.value);
        await this.place(
          key,
          { acl: entry.acl.serialize(), meta: entry.metadata, exp: entry.expiresAt, type, num },
          body,
        );
        return true;
      }),
    );
  }

  writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): Promise<boolean> {
    return this.guard('updating a cache key', () =>
      this.lock.run(localCacheFileName(key), async () => {
        const current = await this.live(key, true, true);
        if (current === undefined || current.version !== ifVersion) return false;
        const { type, num } = current.header;
        const meta = update.metadata ?? current.header.meta;
        await this.place(key, { acl: update.acl.serialize(), meta, exp: update.expiresAt, type, num }, current.body!);
        return true;
      }),
    );
  }

  delete(key: string, ifVersion: Version): Promise<boolean> {
    return this.guard('deleting a cache key', () =>
      this.lock.run(localCacheFileName(key), async () => {
        const current = await this.live(key, false, true);
        if (current === undefined) return true;
        if (current.version !== ifVersion) return false;
        await unlinkQuietly(this.fileOf(key));
        return true;
      }),
    );
  }

  /** Deletes expired entries and temp files of writers that died. Runs on the timer; call it to purge now. */
  sweep(): Promise<LocalStorageCacheSweepResult> {
    return this.sweeper.run();
  }

  private async runSweep(): Promise<LocalStorageCacheSweepResult> {
    const temps = await this.files.removeStale(STALE_TEMP_MS);
    const result: LocalStorageCacheSweepResult = { expired: 0, temps };
    let names: string[];
    try {
      names = await fsp.readdir(this.entriesDir);
    } catch (error) {
      if (isAbsent(error)) return result;
      throw error;
    }
    for (const name of names) {
      if (this.sweeper.stopping) break;
      const found = await this.readFile(path.join(this.entriesDir, name), false).catch(() => undefined);
      if (found === undefined || !isExpired(found.header.exp) || localCacheFileName(found.header.key) !== name)
        continue;
      if (await this.reap(found.header.key, found.version)) result.expired++;
    }
    return result;
  }

  /**
   * The live entry of `key`, or `undefined` (missing, expired, undecodable). An expired one is
   * deleted: at once when the caller holds the key's lock (`locked`), else under the lock.
   */
  private async live(key: string, withBody: boolean, locked = false): Promise<StoredEntry | undefined> {
    const file = this.fileOf(key);
    const found = await this.readFile(file, withBody);
    if (found === undefined) return undefined;
    if (found.header.key !== key) {
      this.context.logger.warn(`cache file ${path.basename(file)} holds another key: ignored`);
      return undefined;
    }
    if (!isExpired(found.expiresAt)) return found;
    if (locked) await unlinkQuietly(file);
    else await this.reap(key, found.version);
    return undefined;
  }

  /** Deletes `key` if it is still at `version` and expired; true when it did. */
  private reap(key: string, version: string): Promise<boolean> {
    return this.lock.run(localCacheFileName(key), async () => {
      const file = this.fileOf(key);
      const found = await this.readFile(file, false);
      if (found?.version !== version || !isExpired(found.expiresAt)) return false;
      await unlinkQuietly(file);
      return true;
    });
  }

  private async place(key: string, fields: Omit<FileHeader, 'key' | 'w' | 'len'>, body: Buffer): Promise<void> {
    const w = randomBytes(12).toString('base64url');
    await this.files.write(this.fileOf(key), encodeEntryFile({ key, w, ...fields }, body));
  }

  /** One file's entry, from one descriptor; `undefined` when missing, or undecodable (warned). */
  private async readFile(file: string, withBody: boolean): Promise<StoredEntry | undefined> {
    const read = await readEntryFile(file, withBody);
    if (read === undefined) return undefined;
    if (read === 'corrupt') return this.corrupt(file);
    const { header, body } = read;
    let acl: ACL;
    try {
      acl = ACL.parse(header.acl);
    } catch {
      return this.corrupt(file);
    }
    return { header, acl, expiresAt: header.exp, version: header.w, body };
  }

  private corrupt(file: string): undefined {
    this.context.logger.warn(`cache file ${path.basename(file)} cannot be decoded: it reads as missing`);
    return undefined;
  }

  /** File-system errors name the operation and the code; never the folder (a setting) or the key. */
  private async guard<T>(doing: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof SreError) throw error;
      throw new SreBackendError(`${labelOf(this.context)}: ${doing}: ${codeOf(error)}`, sourceOf(this.context), {
        cause: error,
      });
    }
  }
}
