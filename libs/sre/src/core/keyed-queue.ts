/**
 * Runs tasks one after another per key, in this process (a vector namespace's create-if-absent and
 * drop, the writes of one datasource, the S3 lease holders of one key). Only within one process:
 * what must hold across processes needs the store's own conditional writes or leases.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
