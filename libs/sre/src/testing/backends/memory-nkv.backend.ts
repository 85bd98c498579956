import type { NKVBackend, NKVStoredEntry } from '../../nkv/nkv.backend';

/**
 * An NKV backend held in memory, for tests: `new NKVService(new MemoryNKVBackend(), ctx, { account })`,
 * or `NKVModule.forRoot({ connector: MemoryNKVBackend })`. One map per (team, namespace), so a
 * namespace is listed and removed in time proportional to itself and never meets another one that
 * shares its prefix.
 */
export class MemoryNKVBackend implements NKVBackend {
  static readonly connectorName = 'MemoryNKV';

  private readonly namespaces = new Map<string, Map<string, string>>();

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  async readEntry(team: string, namespace: string, key: string): Promise<string | undefined> {
    return this.namespaces.get(slot(team, namespace))?.get(key);
  }

  async writeEntry(team: string, namespace: string, key: string, value: string): Promise<void> {
    const id = slot(team, namespace);
    let entries = this.namespaces.get(id);
    if (!entries) this.namespaces.set(id, (entries = new Map()));
    entries.set(key, value);
  }

  async deleteEntry(team: string, namespace: string, key: string): Promise<void> {
    const id = slot(team, namespace);
    const entries = this.namespaces.get(id);
    if (entries?.delete(key) && entries.size === 0) this.namespaces.delete(id);
  }

  async hasEntry(team: string, namespace: string, key: string): Promise<boolean> {
    return this.namespaces.get(slot(team, namespace))?.has(key) ?? false;
  }

  async listEntries(team: string, namespace: string): Promise<NKVStoredEntry[]> {
    return [...(this.namespaces.get(slot(team, namespace)) ?? [])].map(([key, value]) => ({ key, value }));
  }

  async deleteNamespace(team: string, namespace: string): Promise<void> {
    this.namespaces.delete(slot(team, namespace));
  }

  /** How many keys are stored across every team and namespace. */
  get size(): number {
    let count = 0;
    for (const entries of this.namespaces.values()) count += entries.size;
    return count;
  }

  /** Forgets everything. */
  clear(): void {
    this.namespaces.clear();
  }
}

/** JSON of the pair: reversible, so two distinct (team, namespace) pairs never share a map. */
function slot(team: string, namespace: string): string {
  return JSON.stringify([team, namespace]);
}
