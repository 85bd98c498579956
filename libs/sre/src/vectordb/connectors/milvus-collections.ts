import { randomUUID } from 'node:crypto';
import type { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { NamespaceRecord, VectorNamespace } from '../vectordb.backend';
import { isCollectionMissing, isStatus, isSuccess, MilvusStatusError } from './milvus-client';
import { collectionFields, collectionOf, NAMESPACE_PROPERTY, ownerPart } from './milvus-schema';
import { CollectionGone, unlessGone, type MilvusSession } from './milvus-session';

interface StoredNamespace {
  record: Omit<NamespaceRecord, 'acl'> & { acl: string };
  nonce: string;
}

/** Milvus' code for a read on a collection that is not loaded. */
const NOT_LOADED = 101;

/**
 * One collection per namespace, the record (ACL included) in a collection property, so that
 * namespace and record appear and vanish together; and the index + load every read needs first.
 */
export class MilvusCollections {
  /** Collections known to be indexed and loaded by this process. */
  private readonly ready = new Map<string, Promise<void>>();

  constructor(
    private readonly session: MilvusSession,
    private readonly prefix: string,
    private readonly dimensions: number,
    private readonly timeoutMs: number,
  ) {}

  /** After a disconnect nothing is known to be loaded any more. */
  forget(): void {
    this.ready.clear();
  }

  nameOf(namespace: Pick<VectorNamespace, 'key'>): string {
    return collectionOf(this.prefix, namespace.key);
  }

  async read(key: string): Promise<NamespaceRecord | undefined> {
    const stored = await this.describe(collectionOf(this.prefix, key));
    return stored && stored.record.namespace === key ? toRecord(stored) : undefined;
  }

  async list(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    const listed = await this.session.call(
      'list collections',
      (c) => c.showCollections(),
      (r) => r.status,
    );
    const mine = `${this.prefix}_${ownerPart(owner)}_`;
    const names = listed.data.map((collection) => collection.name).filter((name) => name.startsWith(mine));
    const described = await Promise.all(names.map((name) => this.describe(name)));
    return described
      .filter((stored): stored is StoredNamespace => !!stored)
      .filter(({ record }) => record.candidateId === owner.id && record.candidateRole === owner.role)
      .map(toRecord);
  }

  async create(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean> {
    const name = this.nameOf(namespace);
    if (await this.has(name)) return false;
    const nonce = randomUUID();
    const stored: StoredNamespace = {
      record: { ...record, metadata: record.metadata, acl: record.acl.serialize() },
      nonce,
    };
    const sdk = this.session.requireSdk();
    const created = await this.session.attempt('create a collection', (c) =>
      c
        .createCollection({
          collection_name: name,
          description: 'nestjs-sre VectorDB namespace',
          fields: collectionFields(sdk, this.dimensions),
          properties: { [NAMESPACE_PROPERTY]: JSON.stringify(stored) },
          // reads right after a write see it (the default, Bounded, may not)
          consistency_level: 'Strong',
        })
        // this SDK call throws its status where the others return it
        .catch((thrown: unknown) => {
          if (isStatus(thrown)) return thrown;
          throw thrown;
        }),
    );
    if (!isSuccess(created)) {
      if (await this.has(name)) return false;
      throw new MilvusStatusError('create a collection', created, this.session.redact, this.session.source);
    }
    // Milvus answers success to a create that repeats an existing one: the nonce tells who won
    const now = await this.describe(name);
    if (now?.nonce !== nonce) return false;
    await this.prepare(name);
    return true;
  }

  /** Drops the namespace's collection; answers its name, or undefined when it was not this namespace's. */
  async drop(namespace: VectorNamespace): Promise<string | undefined> {
    const name = this.nameOf(namespace);
    const stored = await this.describe(name);
    if (!stored || stored.record.namespace !== namespace.key) return undefined;
    this.ready.delete(name);
    const dropped = await this.session.attempt('drop a collection', (c) => c.dropCollection({ collection_name: name }));
    if (!isSuccess(dropped) && !isCollectionMissing(dropped))
      throw new MilvusStatusError('drop a collection', dropped, this.session.redact, this.session.source);
    this.ready.delete(name);
    return name;
  }

  /** The namespace's collection when it exists and is this namespace's (never another key's). */
  async existing(namespace: VectorNamespace): Promise<string | undefined> {
    const name = this.nameOf(namespace);
    const stored = await this.describe(name);
    return stored && stored.record.namespace === namespace.key ? name : undefined;
  }

  /** Index and load, once per collection and process; a crash between create and load heals here. */
  prepare(name: string): Promise<void> {
    let ready = this.ready.get(name);
    if (!ready) {
      ready = this.indexAndLoad(name);
      this.ready.set(name, ready);
      ready.catch(() => this.ready.delete(name));
    }
    return ready;
  }

  /**
   * Runs a read; when the collection turns out not loaded (another process dropped and created it
   * again, or released it), loads it and runs the read once more.
   */
  async loaded<T>(name: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof MilvusStatusError) || Number(error.status.code) !== NOT_LOADED) throw error;
      this.ready.delete(name);
      await this.prepare(name);
      return read();
    }
  }

  private async has(name: string): Promise<boolean> {
    const exists = await this.session.call(
      'check a collection',
      (c) => c.hasCollection({ collection_name: name }),
      (r) => r.status,
    );
    return !!exists.value;
  }

  private describe(name: string): Promise<StoredNamespace | undefined> {
    return unlessGone(undefined, async () => {
      const described = await this.session.call(
        'describe a collection',
        (c) => c.describeCollection({ collection_name: name, cache: false }),
        (r) => r.status,
      );
      const property = described.properties?.find((pair) => pair.key === NAMESPACE_PROPERTY)?.value;
      if (typeof property !== 'string') return undefined;
      return JSON.parse(property) as StoredNamespace;
    });
  }

  private async indexAndLoad(name: string): Promise<void> {
    if ((await this.loadState(name)) === 'LoadStateLoaded') return;
    const index = await this.session.attempt('describe the index', (c) =>
      c.describeIndex({ collection_name: name, field_name: 'vector' }),
    );
    if (!isSuccess(index.status)) {
      if (isCollectionMissing(index.status)) throw new CollectionGone();
      await this.session.call(
        'create the index',
        (c) =>
          c.createIndex({
            collection_name: name,
            field_name: 'vector',
            index_type: 'AUTOINDEX',
            metric_type: 'COSINE',
          }),
        (r) => r,
      );
    }
    // the SDK's loadCollectionSync throws its status and sleeps 400 ms a round: poll here instead
    await this.session.call(
      'load a collection',
      (c) => c.loadCollectionAsync({ collection_name: name }),
      (r) => r,
    );
    const deadline = Date.now() + this.timeoutMs;
    for (let wait = 25; ; wait = Math.min(wait * 2, 1000)) {
      const state = await this.loadState(name);
      if (state === 'LoadStateLoaded') return;
      if (Date.now() + wait > deadline)
        throw new MilvusStatusError(
          'load a collection',
          { reason: `still ${state} after ${this.timeoutMs} ms` },
          this.session.redact,
          this.session.source,
        );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async loadState(name: string): Promise<string> {
    const state = await this.session.call(
      'read the load state',
      (c) => c.getLoadState({ collection_name: name }),
      (r) => r.status,
    );
    return String(state.state);
  }
}

function toRecord(stored: StoredNamespace): NamespaceRecord {
  return { ...stored.record, acl: ACL.parse(stored.record.acl) };
}
