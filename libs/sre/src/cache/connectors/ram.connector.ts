import { IsInt, IsNumber, IsOptional, IsPositive, Max, Min } from 'class-validator';
import { LRUCache } from 'lru-cache';
import type { ConnectorContext } from '../../core/connector';
import { SreInvalidInputError } from '../../core/errors';
import type { ACL } from '../../security/acl';
import { CacheEntryHeader, CacheMetadata, CacheService, CacheValue } from '../cache.service';

export class RAMCacheSettings {
  /** Most keys held at once; past it the least recently used key is evicted. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  maxEntries: number = 100_000;

  /**
   * Approximate memory budget in MB for keys, values and metadata (strings count 2 bytes a
   * character, objects their JSON length). Least recently used keys are evicted to stay under it;
   * a single entry larger than the budget is refused. Unset: only `maxEntries` bounds the cache.
   */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1_048_576)
  maxSizeMB?: number;
}

/**
 * One key. Objects and arrays are kept as JSON text: encoding on set and parsing on get is the copy
 * (4x faster than `structuredClone` on a parse), gives the same JSON semantics as every other
 * backend, and measures the entry for `maxSizeMB` for free.
 */
interface Entry {
  /** Strings, numbers, booleans, null and Buffers; `undefined` when `json` holds the value. */
  readonly value: string | number | boolean | null | Buffer | undefined;
  readonly json: string | undefined;
  /** Metadata as JSON text. */
  readonly metadata: string;
  readonly acl: ACL;
  readonly expiresAt: number | undefined;
  readonly size: number;
}

/** Expired entries are invisible at once (checked on every access); the sweep only frees their memory. */
const SWEEP_INTERVAL_MS = 60_000;
const ENTRY_OVERHEAD_BYTES = 128;
const MB = 1024 * 1024;

/**
 * An in-process cache: one keyspace per connector instance, shared by every candidate (keys under
 * `teams/<id>/`, `users/<id>/`, `agents/<id>/` can only be created by that owner). Value, metadata,
 * ACL and expiry live in one entry, so they appear and expire together (W54). Memory is bounded by
 * `maxEntries` and optionally `maxSizeMB`, evicting the least recently used key. Values and
 * metadata are copied in and out (Buffers copied, objects through JSON), so callers never share
 * objects with the cache.
 */
export class RAMCacheConnector extends CacheService {
  static readonly connectorName = 'RAM';
  static readonly settingsClass = RAMCacheSettings;

  private readonly entries: LRUCache<string, Entry>;
  private readonly maxBytes: number | undefined;
  private sweeper?: NodeJS.Timeout;

  constructor(settings: RAMCacheSettings, context: ConnectorContext) {
    super(context);
    this.maxBytes = settings.maxSizeMB === undefined ? undefined : Math.floor(settings.maxSizeMB * MB);
    this.entries =
      this.maxBytes === undefined
        ? new LRUCache<string, Entry>({ max: settings.maxEntries })
        : new LRUCache<string, Entry>({
            max: settings.maxEntries,
            maxSize: this.maxBytes,
            sizeCalculation: (entry) => entry.size,
          });
  }

  /** Entries held in memory, including expired ones the sweep has not freed yet. */
  get size(): number {
    return this.entries.size;
  }

  protected override async onConnect(): Promise<void> {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  protected override async onDisconnect(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  protected readACL(key: string): ACL | undefined {
    return this.live(key)?.acl;
  }

  protected readValue(key: string): CacheValue | undefined {
    const entry = this.live(key);
    if (entry === undefined) return undefined;
    if (entry.json !== undefined) return JSON.parse(entry.json) as CacheValue;
    return Buffer.isBuffer(entry.value) ? Buffer.from(entry.value) : entry.value;
  }

  protected readMetadata(key: string): CacheMetadata | undefined {
    const entry = this.live(key);
    return entry === undefined ? undefined : (JSON.parse(entry.metadata) as CacheMetadata);
  }

  protected readExpiry(key: string): number | undefined {
    return this.live(key)?.expiresAt;
  }

  protected writeEntry(
    key: string,
    value: CacheValue,
    acl: ACL,
    metadata: CacheMetadata,
    expiresAt: number | undefined,
    expected: ACL | undefined,
  ): boolean {
    let stored: Entry['value'];
    let json: string | undefined;
    if (typeof value !== 'object' || value === null) stored = value;
    else if (Buffer.isBuffer(value)) stored = Buffer.from(value);
    else json = this.encode(value, 'value');
    const text = this.encode(metadata, 'metadata');
    const size = this.sizeOf(key, stored, json, text);
    if (this.live(key)?.acl !== expected) return false;
    this.entries.set(key, { value: stored, json, metadata: text, acl, expiresAt, size });
    return true;
  }

  protected deleteEntry(key: string, expected: ACL): boolean {
    const entry = this.live(key);
    if (entry !== undefined && entry.acl !== expected) return false;
    this.entries.delete(key);
    return true;
  }

  protected updateEntry(key: string, expected: ACL, update: (current: CacheEntryHeader) => CacheEntryHeader): boolean {
    const entry = this.live(key);
    if (entry === undefined || entry.acl !== expected) return false;
    const next = update({ metadata: JSON.parse(entry.metadata) as CacheMetadata, acl: entry.acl });
    const metadata = this.encode(next.metadata, 'metadata');
    this.entries.set(key, {
      ...entry,
      metadata,
      acl: next.acl,
      size: this.sizeOf(key, entry.value, entry.json, metadata),
    });
    return true;
  }

  protected expireEntry(key: string, expected: ACL, expiresAt: number | undefined): boolean {
    const entry = this.live(key);
    if (entry === undefined || entry.acl !== expected) return false;
    this.entries.set(key, { ...entry, expiresAt });
    return true;
  }

  /** Removes expired entries; lookups already ignore them, this returns their memory. */
  protected sweep(now = Date.now()): void {
    const expired: string[] = [];
    for (const [key, entry] of this.entries.entries())
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) expired.push(key);
    for (const key of expired) this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt === undefined || entry.expiresAt > Date.now()) return entry;
    this.entries.delete(key);
    return undefined;
  }

  private encode(value: object, what: string): string {
    try {
      return JSON.stringify(value) ?? 'null';
    } catch (error) {
      // circular structures and bigints: the message names the problem, never the data
      throw new SreInvalidInputError(
        `cannot cache this ${what}: ${error instanceof Error ? error.message.split('\n')[0] : 'not JSON-serialisable'}`,
        this.source(),
      );
    }
  }

  private sizeOf(key: string, value: Entry['value'], json: string | undefined, metadata: string): number {
    if (this.maxBytes === undefined) return 0;
    let size = ENTRY_OVERHEAD_BYTES + (key.length + metadata.length) * 2;
    if (json !== undefined) size += json.length * 2;
    else if (typeof value === 'string') size += value.length * 2;
    else if (Buffer.isBuffer(value)) size += value.length;
    if (size > this.maxBytes)
      throw new SreInvalidInputError('entry is larger than the cache size limit (maxSizeMB)', this.source());
    return size;
  }
}
