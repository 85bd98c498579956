import { IsInt, IsNumber, IsOptional, IsPositive, Max, Min } from 'class-validator';
import { LRUCache } from 'lru-cache';
import { createConnectorContext, sourceOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import type { ACL } from '../../security/acl';
import type { CacheBackend, CacheData, CacheEntry, CacheInfo, CacheInfoUpdate } from '../cache.backend';

const DEFAULT_MAX_ENTRIES = 100_000;

export class RAMCacheSettings {
  /** Most keys held at once; past it the least recently used key is evicted. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  maxEntries: number = DEFAULT_MAX_ENTRIES;

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
 * One key: value, metadata, ACL and expiry in one object, so they appear and expire together
 * (W54). Entries are never changed, only replaced, so an entry is its own version: `readInfo` hands
 * it out as is (no allocation on the hot path) and a conditional write compares identities.
 */
class Entry implements CacheInfo {
  constructor(
    readonly value: CacheData,
    /** Metadata as JSON text, as the service encoded it. */
    readonly metadata: string,
    readonly acl: ACL,
    readonly expiresAt: number | undefined,
    readonly size: number,
  ) {}

  get version(): Version {
    return this;
  }
}

/** Expired entries are invisible at once (checked on every access); the sweep only frees their memory. */
const SWEEP_INTERVAL_MS = 60_000;
const ENTRY_OVERHEAD_BYTES = 128;
const MB = 1024 * 1024;

/**
 * An in-process cache, and the in-memory Cache backend for tests: one keyspace per instance,
 * shared by every candidate (isolation comes from the service's ACL checks and reserved scopes).
 * Memory is bounded by `maxEntries` and optionally `maxSizeMB`, evicting the least recently used
 * key. It answers synchronously. It keeps what the service hands it (the service copies values in
 * and out), so used without the service it shares Buffers with its caller.
 */
export class RAMCacheConnector implements CacheBackend {
  static readonly connectorName = 'RAM';
  static readonly settingsClass = RAMCacheSettings;

  private readonly entries: LRUCache<string, Entry>;
  private readonly maxBytes: number | undefined;
  private sweeper?: NodeJS.Timeout;

  constructor(
    settings: Partial<RAMCacheSettings> = {},
    private readonly context: ConnectorContext = createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }),
  ) {
    const max = settings.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxBytes = settings.maxSizeMB === undefined ? undefined : Math.floor(settings.maxSizeMB * MB);
    this.entries =
      this.maxBytes === undefined
        ? new LRUCache<string, Entry>({ max })
        : new LRUCache<string, Entry>({ max, maxSize: this.maxBytes, sizeCalculation: (entry) => entry.size });
  }

  /** Entries held in memory, including expired ones the sweep has not freed yet. */
  get size(): number {
    return this.entries.size;
  }

  async connect(): Promise<void> {
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async disconnect(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.entries.clear();
  }

  readInfo(key: string): CacheInfo | undefined {
    return this.live(key);
  }

  readValue(key: string, version: Version): CacheData | undefined {
    const entry = this.live(key);
    return entry !== undefined && entry === version ? entry.value : undefined;
  }

  readMetadata(key: string, version: Version): string | undefined {
    const entry = this.live(key);
    return entry !== undefined && entry === version ? entry.metadata : undefined;
  }

  write(key: string, entry: CacheEntry, ifVersion: Version | undefined): boolean {
    // measured first: an entry over the budget is refused even when the write would lose the race
    const size = this.sizeOf(key, entry.value, entry.metadata);
    if (this.live(key) !== ifVersion) return false;
    this.entries.set(key, new Entry(entry.value, entry.metadata, entry.acl, entry.expiresAt, size));
    return true;
  }

  writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): boolean {
    const entry = this.live(key);
    if (entry === undefined || entry !== ifVersion) return false;
    const metadata = update.metadata ?? entry.metadata;
    const size = metadata === entry.metadata ? entry.size : this.sizeOf(key, entry.value, metadata);
    this.entries.set(key, new Entry(entry.value, metadata, update.acl, update.expiresAt, size));
    return true;
  }

  delete(key: string, ifVersion: Version): boolean {
    const entry = this.live(key);
    if (entry === undefined) return true;
    if (entry !== ifVersion) return false;
    this.entries.delete(key);
    return true;
  }

  /** Removes expired entries; lookups already ignore them, this returns their memory. */
  private sweep(now = Date.now()): void {
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

  private sizeOf(key: string, value: CacheData, metadata: string): number {
    if (this.maxBytes === undefined) return 0;
    let size = ENTRY_OVERHEAD_BYTES + (key.length + metadata.length) * 2;
    if (typeof value === 'string') size += value.length * 2;
    else if (value instanceof Uint8Array) size += value.length;
    else if (typeof value === 'object' && value !== null) size += value.json.length * 2;
    if (size > this.maxBytes)
      throw new SreInvalidInputError('entry is larger than the cache size limit (maxSizeMB)', sourceOf(this.context));
    return size;
  }
}
