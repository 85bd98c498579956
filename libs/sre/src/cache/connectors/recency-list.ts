/**
 * What `RecencyList` holds: an object that carries its own links, so that keeping the order of use
 * allocates nothing and costs a few pointer writes. An item belongs to one list at a time.
 */
export interface RecencyItem {
  readonly key: string;
  /** Bytes the item counts for; while it is held, changed through `resize` only. */
  size: number;
  older: RecencyItem | undefined;
  newer: RecencyItem | undefined;
}

/**
 * A map of items in order of use, bounded by count and by bytes, the least recently used going
 * first: what the RAM cache keeps its entries in. `lru-cache` did the same at about twice the cost
 * of a `Map` lookup on every read and write (its generality: TTLs, disposal, fetch hooks); here a
 * lookup is one `Map.get` and, for a read, relinking the item at the recent end.
 */
export class RecencyList<T extends RecencyItem> {
  private readonly byKey = new Map<string, T>();
  private oldest: T | undefined;
  private newest: T | undefined;
  private heldBytes = 0;
  /**
   * The item last looked up or set, and its key: a write reads its key's state, then replaces
   * it, so the second lookup of the pair is a comparison. Always an item the list holds.
   */
  private lastKey: string | undefined = undefined;
  private lastItem: T | undefined = undefined;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Bytes of the items held (at most `maxBytes`). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** The item, now the most recently used. */
  get(key: string): T | undefined {
    const item = this.peek(key);
    if (item !== undefined && item !== this.newest) {
      this.unlink(item);
      this.append(item);
    }
    return item;
  }

  /** The item, its place in the order unchanged. */
  peek(key: string): T | undefined {
    if (key === this.lastKey) return this.lastItem;
    const item = this.byKey.get(key);
    if (item !== undefined) {
      this.lastKey = key;
      this.lastItem = item;
    }
    return item;
  }

  /**
   * Holds `item` under its key as the most recently used, replacing what the key held, then drops
   * the least recently used until both bounds hold. `item.size` must be at most `maxBytes`.
   */
  set(item: T): void {
    const replaced = this.peek(item.key);
    if (replaced !== undefined) this.detach(replaced);
    this.byKey.set(item.key, item);
    this.append(item);
    this.heldBytes += item.size;
    this.evictFor(item);
    this.lastKey = item.key;
    this.lastItem = item;
  }

  /**
   * `item`, which the list holds and its holder changed in place, now counts `size` bytes and is
   * the most recently used; older items go until both bounds hold. A replace without a second map
   * write (`set` is a `Map.set` more). `size` must be at most `maxBytes`.
   */
  resize(item: T, size: number): void {
    this.heldBytes += size - item.size;
    item.size = size;
    if (item !== this.newest) {
      this.unlink(item);
      this.append(item);
    }
    this.evictFor(item);
  }

  delete(key: string): boolean {
    const item = this.byKey.get(key);
    if (item === undefined) return false;
    this.detach(item);
    this.byKey.delete(key);
    if (key === this.lastKey) this.lastKey = this.lastItem = undefined;
    return true;
  }

  clear(): void {
    for (let item = this.oldest; item !== undefined;) {
      const next = item.newer as T | undefined;
      item.older = item.newer = undefined;
      item = next;
    }
    this.byKey.clear();
    this.oldest = this.newest = this.lastItem = undefined;
    this.lastKey = undefined;
    this.heldBytes = 0;
  }

  /** The items, least recently used first (a snapshot: the list may change while it is read). */
  items(): T[] {
    const items: T[] = [];
    for (let item = this.oldest; item !== undefined; item = item.newer as T | undefined) items.push(item);
    return items;
  }

  /** Drops the least recently used items, never `kept`, until both bounds hold. */
  private evictFor(kept: T): void {
    while (this.oldest !== kept && (this.byKey.size > this.maxItems || this.heldBytes > this.maxBytes))
      this.delete(this.oldest!.key);
  }

  private detach(item: T): void {
    this.unlink(item);
    this.heldBytes -= item.size;
  }

  private unlink(item: T): void {
    const { older, newer } = item;
    if (older === undefined) this.oldest = newer as T | undefined;
    else older.newer = newer;
    if (newer === undefined) this.newest = older as T | undefined;
    else newer.older = older;
    item.older = item.newer = undefined;
  }

  private append(item: T): void {
    item.older = this.newest;
    item.newer = undefined;
    if (this.newest === undefined) this.oldest = item;
    else this.newest.newer = item;
    this.newest = item;
  }
}
