/** How many ids a service remembers as existing; a full memo starts over (no LRU bookkeeping). */
const KNOWN_IDS_LIMIT = 10_000;

/**
 * The ids a `StorageService` last saw existing. Only a hint, never a decision: a write to an id
 * not in it is first tried as a create (conditional on absence, so a wrong hint costs one refused
 * commit, never a lost update), and every other write reads the id first.
 */
export class KnownIds {
  private readonly ids = new Set<string>();

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.size >= KNOWN_IDS_LIMIT && !this.ids.has(id)) this.ids.clear();
    this.ids.add(id);
  }

  forget(id: string): void {
    this.ids.delete(id);
  }

  /** Records what a read found (`undefined`: the id does not exist) and passes it on. */
  saw<T>(id: string, found: T | undefined): T | undefined {
    if (found === undefined) this.forget(id);
    else this.add(id);
    return found;
  }
}
