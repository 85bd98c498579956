import { createHash } from 'node:crypto';
import type { NKVRequester } from '../../nkv/nkv.service';
import type { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { NamespaceRecord, StoredDatasource } from '../vectordb.backend';

/** A namespace record as NKV keeps it: the ACL compact, and which incarnation of the namespace it is. */
interface StoredNamespace extends Omit<NamespaceRecord, 'acl'> {
  acl: string;
  /** New on every creation: a write that started before a drop and re-creation can tell. */
  incarnation: string;
}

/** A datasource record as NKV keeps it. */
type StoredRecord = Omit<StoredDatasource, 'createdAt' | 'vectorInfo'> & { createdAt?: string; generation: string };

/**
 * The Pinecone namespace of a storage name. Pinecone names are safest in ASCII and short, storage
 * names are neither (unicode, up to 200 characters of the caller's name), so the name is a readable
 * ASCII prefix plus 128 bits of SHA-256 of the whole storage name: distinct names never share a
 * namespace (W37).
 */
export function pineconeNamespaceOf(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 48);
  return `${readable}.${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * The records of one index in NKV, under one team of the platform (`recordsTeam`): namespace
 * records (with their ACLs) in `vectorDB:pinecone:<index>:namespaces`, keyed by storage name, and
 * each namespace's datasource records in `vectorDB:pinecone:<index>:ds:<pinecone namespace>`, keyed
 * by datasource id. NKV is durable and its namespaces never alias, so one index's records never mix
 * with another's.
 */
export class PineconeRecords {
  private readonly namespacesOf: string;

  constructor(
    private readonly nkv: NKVRequester,
    private readonly indexName: string,
  ) {
    this.namespacesOf = `vectorDB:pinecone:${indexName}:namespaces`;
  }

  private datasourcesOf(key: string): string {
    return `vectorDB:pinecone:${this.indexName}:ds:${pineconeNamespaceOf(key)}`;
  }

  async readNamespace(key: string): Promise<(NamespaceRecord & { incarnation: string }) | undefined> {
    const stored = await this.nkv.get<StoredNamespace & Record<string, unknown>>(this.namespacesOf, key);
    return stored && toNamespaceRecord(stored);
  }

  async listNamespaces(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    const entries = await this.nkv.list(this.namespacesOf);
    return entries
      .map(({ data }) => data as unknown as StoredNamespace)
      .filter((stored) => stored.candidateId === owner.id && stored.candidateRole === owner.role)
      .map((stored) => {
        const { incarnation: _, ...record } = toNamespaceRecord(stored);
        return record;
      });
  }

  async writeNamespace(record: NamespaceRecord, incarnation: string): Promise<void> {
    const stored: StoredNamespace = { ...record, acl: record.acl.serialize(), incarnation };
    await this.nkv.set(this.namespacesOf, record.namespace, stored as unknown as Record<string, unknown>);
  }

  async deleteNamespace(key: string): Promise<void> {
    await this.nkv.delete(this.namespacesOf, key);
  }

  async deleteDatasources(key: string): Promise<void> {
    await this.nkv.deleteAll(this.datasourcesOf(key));
  }

  async readDatasource(key: string, id: string): Promise<(StoredDatasource & { generation: string }) | undefined> {
    const stored = await this.nkv.get<StoredRecord & Record<string, unknown>>(this.datasourcesOf(key), id);
    return stored && toDatasource(stored);
  }

  async listDatasources(key: string): Promise<StoredDatasource[]> {
    const entries = await this.nkv.list(this.datasourcesOf(key));
    return entries.map(({ data }) => {
      const { generation: _, ...datasource } = toDatasource(data as unknown as StoredRecord);
      return datasource;
    });
  }

  async writeDatasource(key: string, datasource: StoredDatasource, generation: string): Promise<void> {
    const { vectorInfo: _, createdAt, ...rest } = datasource;
    const stored: StoredRecord = { ...rest, createdAt: createdAt?.toISOString(), generation };
    await this.nkv.set(this.datasourcesOf(key), datasource.id, stored as unknown as Record<string, unknown>);
  }

  async deleteDatasource(key: string, id: string): Promise<void> {
    await this.nkv.delete(this.datasourcesOf(key), id);
  }
}

function toNamespaceRecord(stored: StoredNamespace): NamespaceRecord & { incarnation: string } {
  return { ...stored, metadata: stored.metadata ?? {}, acl: ACL.parse(stored.acl) };
}

function toDatasource(stored: StoredRecord): StoredDatasource & { generation: string } {
  return {
    ...stored,
    vectorIds: [...stored.vectorIds],
    createdAt: stored.createdAt === undefined ? undefined : new Date(stored.createdAt),
  };
}
