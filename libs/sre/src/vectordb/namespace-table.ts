import type { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import type { NamespaceRecord } from './vectordb.backend';

/** A namespace record as an in-memory backend keeps it: the ACL in compact form, as a real store would. */
export type StoredNamespaceRecord = Omit<NamespaceRecord, 'acl'> & { acl: string };

/**
 * The namespaces of an in-memory VectorDB backend, by storage name, each with the backend's own
 * slot beside its record: the record half of `VectorDBBackend` (read, list by owner,
 * create-if-absent, drop), answering copies so that no caller changes what is stored.
 */
export class NamespaceTable<S> {
  private readonly slots = new Map<string, { record: StoredNamespaceRecord; slot: S }>();

  get size(): number {
    return this.slots.size;
  }

  keys(): string[] {
    return [...this.slots.keys()];
  }

  slot(key: string): S | undefined {
    return this.slots.get(key)?.slot;
  }

  all(): S[] {
    return [...this.slots.values()].map(({ slot }) => slot);
  }

  read(key: string): NamespaceRecord | undefined {
    const found = this.slots.get(key);
    return found && copyRecord(found.record);
  }

  listOf(owner: AccessCandidate): NamespaceRecord[] {
    return [...this.slots.values()]
      .filter(({ record }) => record.candidateId === owner.id && record.candidateRole === owner.role)
      .map(({ record }) => copyRecord(record));
  }

  /** Creates the namespace iff absent (`false`, and nothing changed, when it exists). */
  create(key: string, record: NamespaceRecord, slot: S): boolean {
    if (this.slots.has(key)) return false;
    const stored = { ...record, metadata: structuredClone(record.metadata), acl: record.acl.serialize() };
    this.slots.set(key, { record: stored, slot });
    return true;
  }

  drop(key: string): void {
    this.slots.delete(key);
  }

  clear(): void {
    this.slots.clear();
  }
}

function copyRecord(record: StoredNamespaceRecord): NamespaceRecord {
  return { ...record, metadata: structuredClone(record.metadata), acl: ACL.parse(record.acl) };
}
