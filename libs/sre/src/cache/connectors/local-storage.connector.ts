import { createHash, randomBytes } from 'node:crypto';
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

/** How a value is kept in the file: its JS type, and where its bytes are. */
type ValueType = 's' | 'b' | 'j' | 'n' | 't' | 'f' | 'z';

/** The first line of an entry file (JSON). */
interface FileHeader {
  /** The full key: checked on read (hashed names, files moved by hand). */
  key: string;
  /** Random per write: the entry's version. */
  w: string;
  acl: string;
  /** Metadata JSON text, verbatim. */
  meta: string;
  exp?: number;
  type: ValueType;
  /** A number's text (`String(n)`, `-0` kept). */
  num?: string;
  /** Bytes of the body after the header line. */
  len: number;
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
/** Encoded names longer than this are replaced by a hash of the key (file systems take 255 bytes). */
const MAX_DIRECT_NAME = 200;
const HEADER_CHUNK = 16 * 1024;
/** Characters kept as they are in a file name; everything else is `%HH` (UTF-8 bytes, upper-case hex). */
const SAFE = /^[a-z0-9_-]$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The file name of a key, injective and safe on every file system: `e_` + the key with every
 * character but `a-z 0-9 _ -` percent-encoded (upper-case hex, so case-insensitive file systems
 * cannot merge two names; never `.`, `/` or NUL); `h_` + SHA-256 of the key's UTF-16 code units
 * when that would be longer than 200 bytes or the key holds a lone surrogate (UTF-8 cannot).
 */
export function localCacheFileName(key: string): string {
  if (!LONE_SURROGATE.test(key)) {
    let encoded = 'e_';
    for (const char of key) {
      if (SAFE.test(char)) encoded += char;
      else
        for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      if (encoded.length > MAX_DIRECT_NAME) break;
    }
    if (encoded.length <= MAX_DIRECT_NAME) return encoded;
  }
  return `h_${createHash('sha256').update(Buffer.from(key, 'utf16le')).digest('hex')}`;
}

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
    const header: FileHeader = { key, w: randomBytes(12).toString('base64url'), ...fields, len: body.length };
    const line = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
    await this.files.write(this.fileOf(key), Buffer.concat([line, body]));
  }

  /** One file's entry, from one descriptor; `undefined` when missing, or undecodable (warned). */
  private async readFile(file: string, withBody: boolean): Promise<StoredEntry | undefined> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      let head = Buffer.alloc(0);
      let newline = -1;
      while (newline < 0 && head.length < size) {
        const chunk = Buffer.alloc(Math.min(HEADER_CHUNK, size - head.length));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, head.length);
        if (bytesRead === 0) break;
        const from = head.length;
        head = Buffer.concat([head, chunk.subarray(0, bytesRead)]);
        newline = head.indexOf(0x0a, from);
      }
      const header = newline < 0 ? undefined : decodeHeaderLine(head.subarray(0, newline));
      if (header === undefined || newline + 1 + header.len !== size) return this.corrupt(file);
      let acl: ACL;
      try {
        acl = ACL.parse(header.acl);
      } catch {
        return this.corrupt(file);
      }
      let body: Buffer | undefined;
      if (withBody) {
        body = Buffer.alloc(header.len);
        const have = head.subarray(newline + 1);
        have.copy(body);
        let offset = have.length;
        while (offset < header.len) {
          const { bytesRead } = await handle.read(body, offset, header.len - offset, newline + 1 + offset);
          if (bytesRead === 0) return this.corrupt(file);
          offset += bytesRead;
        }
        if (header.type === 'j' && !isJson(body)) return this.corrupt(file);
      }
      return { header, acl, expiresAt: header.exp, version: header.w, body };
    } finally {
      await handle.close().catch(() => undefined);
    }
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

const TYPES: ReadonlySet<string> = new Set<ValueType>(['s', 'b', 'j', 'n', 't', 'f', 'z']);

function decodeHeaderLine(line: Buffer): FileHeader | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const h = parsed as Partial<FileHeader>;
  const ok =
    typeof h.key === 'string' &&
    typeof h.w === 'string' &&
    typeof h.acl === 'string' &&
    typeof h.meta === 'string' &&
    (h.exp === undefined || (typeof h.exp === 'number' && Number.isFinite(h.exp))) &&
    typeof h.type === 'string' &&
    TYPES.has(h.type) &&
    (h.type !== 'n' || typeof h.num === 'string') &&
    Number.isSafeInteger(h.len) &&
    h.len! >= 0;
  return ok ? (h as FileHeader) : undefined;
}

function encodeValue(value: CacheData): { type: ValueType; num?: string; body: Buffer } {
  const none = Buffer.alloc(0);
  if (typeof value === 'string') return { type: 's', body: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') return { type: 'n', num: Object.is(value, -0) ? '-0' : String(value), body: none };
  if (typeof value === 'boolean') return { type: value ? 't' : 'f', body: none };
  if (value === null) return { type: 'z', body: none };
  if (Buffer.isBuffer(value)) return { type: 'b', body: value };
  return { type: 'j', body: Buffer.from(value.json, 'utf8') };
}

function valueOf(header: FileHeader, body: Buffer): CacheData {
  switch (header.type) {
    case 's':
      return body.toString('utf8');
    case 'b':
      return body;
    case 'j':
      return { json: body.toString('utf8') };
    case 'n':
      return Number(header.num);
    case 't':
      return true;
    case 'f':
      return false;
    default:
      return null;
  }
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}
