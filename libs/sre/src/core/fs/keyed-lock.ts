/**
 * Mutual exclusion per key inside one process: `run(key, work)` starts `work` once every earlier
 * `run` of the same key has settled; different keys never wait for each other. Fair (first come,
 * first served), and a failing `work` releases the key like a succeeding one.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T> | T): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.tails.set(key, tail);
    if (previous) await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True while a `run` of `key` is running or waiting. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Keys held or waited for (0 when idle: the lock keeps nothing for released keys). */
  get size(): number {
    return this.tails.size;
  }
}
