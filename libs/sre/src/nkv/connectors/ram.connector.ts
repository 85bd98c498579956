import { IsNumber, IsOptional, IsPositive, Max } from 'class-validator';
import * as v8 from 'node:v8';
import type { ConnectorContext } from '../../core/backend';
import type { NKVBackend, NKVStoredEntry } from '../nkv.backend';

const MB = 1024 * 1024;
/** The default byte bound never exceeds this, whatever the heap. */
const DEFAULT_MAX_SIZE_CAP_MB = 256;
/** A key's map slot and strings' headers, on top of its characters. */
const ENTRY_OVERHEAD_BYTES = 64;

/** A quarter of this process' V8 heap limit, at most 256 MB (as the RAM Cache). */
export function defaultRAMNKVMaxSizeMB(): number {
  const quarter = Math.floor(v8.getHeapStatistics().heap_size_limit / 4 / MB);
  return Math.max(1, Math.min(DEFAULT_MAX_SIZE_CAP_MB, quarter));
}

export class RAMNKVSettings {
  /**
   * Memory budget in MB for every key and value held (strings count 2 bytes a character, plus a
   * fixed overhead per key). NKV is a store, not a cache: nothing is evicted, a write that would
   * pass the budget fails (a backend error) and changes nothing. Default: a quarter of the V8 heap
   * limit, at most 256 MB.
   */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(1_048_576)
  maxSizeMB?: number;
}

/** The namespaces of one team. */
type Team = Map<string, Map<string, string>>;

/**
 * NKV in this process' memory: lost at exit, not shared between processes or instances. One map per
 * team, one per namespace inside it, so the three names never meet in one string (no aliasing) and
 * a namespace is listed and removed in time proportional to itself. Bounded by `maxSizeMB`.
 */
export class RAMNKVConnector implements NKVBackend {
  static readonly connectorName = 'RAM';
  static readonly settingsClass = RAMNKVSettings;

  private readonly teams = new Map<string, Team>();
  /** The byte bound (`maxSizeMB` in bytes). */
  readonly maxBytes: number;
  private used = 0;

  constructor(settings: RAMNKVSettings = {}, _context?: ConnectorContext) {
    this.maxBytes = Math.max(1, Math.floor((settings.maxSizeMB ?? defaultRAMNKVMaxSizeMB()) * MB));
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {
    this.teams.clear();
    this.used = 0;
  }

  readEntry(team: string, namespace: string, key: string): string | undefined {
    return this.teams.get(team)?.get(namespace)?.get(key);
  }

  writeEntry(team: string, namespace: string, key: string, value: string): void {
    const existing = this.teams.get(team)?.get(namespace)?.get(key);
    const delta = sizeOf(key, value) - (existing === undefined ? 0 : sizeOf(key, existing));
    if (this.used + delta > this.maxBytes)
      throw new Error(`the RAM NKV store is full (maxSizeMB ${Math.round((this.maxBytes / MB) * 100) / 100})`);
    let namespaces = this.teams.get(team);
    if (!namespaces) this.teams.set(team, (namespaces = new Map()));
    let entries = namespaces.get(namespace);
    if (!entries) namespaces.set(namespace, (entries = new Map()));
    entries.set(key, value);
    this.used += delta;
  }

  async deleteEntry(team: string, namespace: string, key: string): Promise<void> {
    const namespaces = this.teams.get(team);
    const entries = namespaces?.get(namespace);
    const value = entries?.get(key);
    if (value === undefined) return;
    entries!.delete(key);
    this.used -= sizeOf(key, value);
    if (entries!.size === 0) this.dropNamespace(team, namespace);
  }

  async hasEntry(team: string, namespace: string, key: string): Promise<boolean> {
    return this.teams.get(team)?.get(namespace)?.has(key) ?? false;
  }

  async listEntries(team: string, namespace: string): Promise<NKVStoredEntry[]> {
    const entries = this.teams.get(team)?.get(namespace);
    return entries ? [...entries].map(([key, value]) => ({ key, value })) : [];
  }

  async deleteNamespace(team: string, namespace: string): Promise<void> {
    const entries = this.teams.get(team)?.get(namespace);
    if (!entries) return;
    for (const [key, value] of entries) this.used -= sizeOf(key, value);
    this.dropNamespace(team, namespace);
  }

  /** Keys held across every team and namespace. */
  get size(): number {
    let count = 0;
    for (const namespaces of this.teams.values()) for (const entries of namespaces.values()) count += entries.size;
    return count;
  }

  /** Bytes counted for what is held (at most `maxBytes`). */
  get bytes(): number {
    return this.used;
  }

  private dropNamespace(team: string, namespace: string): void {
    const namespaces = this.teams.get(team);
    namespaces?.delete(namespace);
    if (namespaces?.size === 0) this.teams.delete(team);
  }
}

function sizeOf(key: string, value: string): number {
  return ENTRY_OVERHEAD_BYTES + 2 * (key.length + value.length);
}
