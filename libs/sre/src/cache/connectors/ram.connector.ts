import { IsInt, IsNumber, IsOptional, IsPositive, Max, Min } from 'class-validator';
import * as v8 from 'node:v8';
import { createConnectorContext, sourceOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import type { ACL } from '../../security/acl';
import type { CacheBackend, CacheData, CacheEntry, CacheInfo, CacheInfoUpdate } from '../cache.backend';
import { RecencyList, type RecencyItem } from './recency-list';

const DEFAULT_MAX_ENTRIES = 100_000;
const MB = 1024 * 1024;
/** The default byte bound never exceeds this, whatever the heap. */
const DEFAULT_MAX_SIZE_CAP_MB = 256;

/**
 * The default `maxSizeMB`: a quarter of this process' V8 heap limit (`--max-old-space-size`), at
 * most 256 MB, so a full cache leaves the heap room for everything else: 256 MB on Node's usual
 * 2–4 GB heaps, 32 MB under `--max-old-space-size=128`.
 */
export function defaultRAMCacheMaxSizeMB(): number {
  const quarter = Math.floor(v8.getHeapStatistics().heap_size_limit / 4 / MB);
  return Math.max(1, Math.min(DEFAULT_MAX_SIZE_CAP_MB, quarter));
}

export class RAMCacheSettings {
  /** Most keys held at once; past it the least recently used key is evicted. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  maxEntries: number = DEFAULT_MAX_ENTRIES;

  /**
   * Memory budget in MB (1 MB = 2^20 bytes) for everything an entry holds: key, value, metadata, ACL
   * and a fixed overhead per entry. Strings (keys, values, metadata and JSON text of objects) count
   * 2 bytes a character, Buffers their length. Least recently used keys are evicted to stay under
   * it; a single entry larger than the budget is refused with `SreInvalidInputError`. Default: a
   * quarter of the V8 heap limit, at most 256 MB (`defaultRAMCacheMaxSizeMB()`); it bounds each
   * RAM connector instance on its own.
   */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1_048_576)
  maxSizeMB: number = defaultRAMCacheMaxSizeMB();
}

/**
 * One state of a key: value, metadata, ACL and expiry in one object, so they appear and expire
 * together (W54). Entries are never changed, only replaced, so an entry is its own version:
 * `readInfo` hands it out as is (no allocation on the hot path) and a conditional write compares
 * identities.
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

  /** An entry is also its own `readEntry` answer: info and value of one state, no allocation. */
  get info(): CacheInfo {
    return this;
  }
}

/**
 * A key's place in the order of use, holding its current entry: a write of a held key swaps the
 * entry in the slot, where replacing the map's value would cost a second `Map` write.
 */
class Slot implements RecencyItem {
  older: Slot | undefined = undefined;
  newer: Slot | undefined = undefined;

  constructor(
    readonly key: string,
    public entry: Entry,
    public size: number,
  ) {}
}

/** Expired entries are invisible at once (checked on every access); the sweep only frees their memory. */
const SWEEP_INTERVAL_MS = 60_000;
/** The entry object (with its links in the order of use) and its key's map entry. */
const ENTRY_OVERHEAD_BYTES = 128;
/** An ACL's own objects (its maps), on top of its compact text. */
const ACL_OVERHEAD_BYTES = 256;

/**
 * An in-process cache, and the in-memory Cache backend for tests: one keyspace per instance,
 * shared by every candidate (isolation comes from the service's ACL checks and reserved scopes).
 * Memory is bounded by `maxEntries` and `maxSizeMB` (by default a quarter of the heap limit, at
 * most 256 MB), evicting the least recently used key. It answers synchronously. It keeps what the
 * service hands it (the service copies values in and out), so used without the service it shares
 * Buffers with its caller.
 */
export class RAMCacheConnector implements CacheBackend {
  static readonly connectorName = 'RAM';
  static readonly settingsClass = RAMCacheSettings;

  private readonly entries: RecencyList<Slot>;
  /** The byte bound (`maxSizeMB` in bytes). */
  readonly maxBytes: number;
  private sweeper?: NodeJS.Timeout;
  /** Bytes counted for an ACL, per instance: the service shares one ACL between many keys. */
  private readonly aclBytes = new WeakMap<ACL, { version: number; bytes: number }>();
  private lastACL: ACL | undefined = undefined;
  private lastACLBytes = { version: -1, bytes: 0 };

  constructor(
    settings: Partial<RAMCacheSettings> = {},
    private readonly context: ConnectorContext = createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }),
  ) {
    const max = settings.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxBytes = Math.max(1, Math.floor((settings.maxSizeMB ?? defaultRAMCacheMaxSizeMB()) * MB));
    this.entries = new RecencyList<Slot>(max, this.maxBytes);
  }

  /** Entries held in memory, including expired ones the sweep has not freed yet. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes counted for the entries held (always at most `maxBytes`). */
  get bytes(): number {
    return this.entries.bytes;
  }

  async connect(): Promise<void> {
    const heapLimit = v8.getHeapStatistics().heap_size_limit;
    if (this.sweeper === undefined && this.maxBytes > heapLimit / 2)
      this.context.logger.warn(
        `maxSizeMB (${Math.round(this.maxBytes / MB)} MB) is more than half the heap limit ` +
          `(${Math.round(heapLimit / MB)} MB): a full cache may run the process out of memory`,
      );
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

  /** Info and value in one lookup (the service's `get` then makes one call instead of two). */
  readEntry(key: string): Entry | undefined {
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
    const size = this.sizeOf(key, entry.value, entry.metadata, entry.acl);
    // the write makes the key recent: the check needs no move in the order of use
    if (this.live(key, false) !== ifVersion) return false;
    this.place(key, new Entry(entry.value, entry.metadata, entry.acl, entry.expiresAt, size));
    return true;
  }

  writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): boolean {
    const entry = this.live(key, false);
    if (entry === undefined || entry !== ifVersion) return false;
    const metadata = update.metadata ?? entry.metadata;
    const size =
      metadata === entry.metadata && update.acl === entry.acl
        ? entry.size
        : this.sizeOf(key, entry.value, metadata, update.acl);
    this.place(key, new Entry(entry.value, metadata, update.acl, update.expiresAt, size));
    return true;
  }

  delete(key: string, ifVersion: Version): boolean {
    const entry = this.live(key);
    if (entry === undefined) return true;
    if (entry !== ifVersion) return false;
    this.entries.delete(key);
    return true;
  }

  /** Makes `entry` the key's state, and the key the most recently used. */
  private place(key: string, entry: Entry): void {
    // the slot a write's check just looked up: a comparison, no second map lookup
    const slot = this.entries.peek(key);
    if (slot === undefined) return this.entries.set(new Slot(key, entry, entry.size));
    slot.entry = entry;
    this.entries.resize(slot, entry.size);
  }

  /** Removes expired entries; lookups already ignore them, this returns their memory. */
  private sweep(now = Date.now()): void {
    for (const slot of this.entries.items()) {
      const { expiresAt } = slot.entry;
      if (expiresAt !== undefined && expiresAt <= now) this.entries.delete(slot.key);
    }
  }

  /** The key's entry unless expired (then dropped); `use`: a read, which makes the key recent. */
  private live(key: string, use = true): Entry | undefined {
    const slot = use ? this.entries.get(key) : this.entries.peek(key);
    if (slot === undefined) return undefined;
    const entry = slot.entry;
    if (entry.expiresAt === undefined || entry.expiresAt > Date.now()) return entry;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * What an entry costs: the overhead, key, metadata text and ACL, plus the value (strings 2 bytes
   * a character, the most V8 uses; Buffers their length; objects their JSON text). Throws when one
   * entry alone exceeds the bound, before anything is stored.
   */
  private sizeOf(key: string, value: CacheData, metadata: string, acl: ACL): number {
    let size = ENTRY_OVERHEAD_BYTES + (key.length + metadata.length) * 2 + this.sizeOfACL(acl);
    if (typeof value === 'string') size += value.length * 2;
    else if (value instanceof Uint8Array) size += value.byteLength;
    else if (typeof value === 'object' && value !== null) size += value.json.length * 2;
    if (size > this.maxBytes)
      throw new SreInvalidInputError('entry is larger than the cache size limit (maxSizeMB)', sourceOf(this.context));
    return size;
  }

  /** An ACL's compact text (2 bytes a character) plus its objects, measured once per ACL state. */
  private sizeOfACL(acl: ACL): number {
    // a run of writes by one creator shares one ACL: the last one measured needs no lookup
    if (acl === this.lastACL && acl.version === this.lastACLBytes.version) return this.lastACLBytes.bytes;
    let known = this.aclBytes.get(acl);
    if (known === undefined || known.version !== acl.version) {
      known = { version: acl.version, bytes: ACL_OVERHEAD_BYTES + acl.serialize().length * 2 };
      this.aclBytes.set(acl, known);
    }
    this.lastACL = acl;
    this.lastACLBytes = known;
    return known.bytes;
  }
}
