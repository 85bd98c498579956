/**
 * The latest state a remote cache connector saw per key, bounded (the oldest goes first): what its
 * `peekInfo` answers from, so that a write by the last reader or writer of a key needs no read.
 */
export class RecentStates<T> {
  private readonly states = new Map<string, T>();

  constructor(private readonly max: number) {}

  get(key: string): T | undefined {
    return this.states.get(key);
  }

  remember(key: string, state: T): T {
    if (this.states.size >= this.max && !this.states.has(key)) this.states.delete(this.states.keys().next().value!);
    this.states.set(key, state);
    return state;
  }

  forget(key: string): undefined {
    this.states.delete(key);
    return undefined;
  }
}
