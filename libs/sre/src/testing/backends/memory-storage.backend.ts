import { Readable } from 'node:stream';
import type { Version } from '../../core/backend';
import { collectBytes } from '../../core/fs/bytes';
import { isExpired } from '../../core/fs/expiry';
import type { StagedWrite, StorageBackend, StorageData } from '../../storage/storage.backend';
import type { StorageEntry, StorageHeader } from '../../storage/storage.backend';

type Item = StorageHeader & { data: Buffer; version: number };

/**
 * Storage in a `Map`, for tests and as the smallest complete connector: plain data operations, a
 * version per commit, and conditional writes that compare it. Everything else (ids, ACLs,
 * ownership, metadata rules) is the service's. Streams are buffered when staged.
 */
export class MemoryStorageBackend implements StorageBackend {
  static readonly connectorName = 'MemoryStorage';
  private readonly items = new Map<string, Item>();
  private versions = 0;

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  async stat(id: string): Promise<StorageEntry | undefined> {
    const item = this.live(id);
    return item && this.entryOf(item);
  }

  async read(
    id: string,
    wanted?: (entry: StorageEntry) => boolean | Promise<boolean>,
  ): Promise<{ entry: StorageEntry; data: Buffer } | undefined> {
    const item = this.live(id);
    if (!item) return undefined;
    const entry = this.entryOf(item);
    if (wanted && !(await wanted(entry))) return { entry, data: Buffer.alloc(0) };
    return { entry, data: Buffer.from(item.data) };
  }

  async readStream(id: string): Promise<{ entry: StorageEntry; stream: Readable } | undefined> {
    const found = await this.read(id);
    return found && { entry: found.entry, stream: Readable.from([found.data], { objectMode: false }) };
  }

  async stage(id: string, data: StorageData): Promise<StagedWrite> {
    const bytes = await collectBytes(data);
    return { commit: async (header, ifVersion) => this.swap(id, ifVersion, bytes, header), discard: async () => {} };
  }

  async writeHeader(id: string, header: StorageHeader, ifVersion: Version): Promise<boolean> {
    const item = this.live(id);
    return item !== undefined && this.swap(id, ifVersion, item.data, header);
  }

  async delete(id: string, ifVersion: Version): Promise<boolean> {
    if (this.live(id) && this.live(id)!.version !== ifVersion) return false;
    this.items.delete(id);
    return true;
  }

  /** Replaces the item iff it is still at `ifVersion` (`undefined`: iff there is none). */
  private swap(id: string, ifVersion: Version, data: Buffer, header: StorageHeader): boolean {
    if (this.live(id)?.version !== ifVersion) return false;
    this.items.set(id, { ...copy(header), data, version: ++this.versions });
    return true;
  }

  /** Copies: nothing the caller holds is shared with what is stored. */
  private entryOf(item: Item): StorageEntry {
    return { ...copy(item), size: item.data.length, version: item.version };
  }

  /** The item unless it has expired (then it is dropped). */
  private live(id: string): Item | undefined {
    const item = this.items.get(id);
    if (item && isExpired(item.expiresAt)) this.items.delete(id);
    return this.items.get(id);
  }
}

function copy({ acl, metadata, expiresAt }: StorageHeader): StorageHeader {
  return { acl: acl.clone(), metadata: structuredClone(metadata), expiresAt };
}
