import { randomUUID } from 'node:crypto';
import { createConnectorContext, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError, SreUnavailableError, type SreErrorSource } from '../../core/errors';
import { KeyedQueue } from '../../core/keyed-queue';
import type { SecretReader } from '../../llm/llm-credentials';
import type { NKVService } from '../../nkv/nkv.service';
import type { AccessCandidate } from '../../security/access-candidate';
import { createEmbedder, type Embedder } from '../embeddings/embedder';
import type {
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBBackend,
  VectorNamespace,
  VectorResult,
  VectorSearchOptions,
} from '../vectordb.backend';
import { PineconeCalls } from './pinecone-call';
import { deleteDatasourceVectors, writeDatasource } from './pinecone-datasource-writes';
import { namespaceIndex, openPineconeIndex, type PineconeConnection, type PineconeIndex } from './pinecone-index';
import { PineconeRecords } from './pinecone-records';
import { searchPinecone } from './pinecone-search';
import { PineconeSettings } from './pinecone-settings';

export { PineconeSettings } from './pinecone-settings';

type Deps = { nkv?: NKVService; vault?: SecretReader };

/**
 * Vectors in one Pinecone index, one Pinecone namespace per VectorDB namespace: the storage name
 * (`<r>_<ownerId>_<name>`, unique per owner) mapped to a readable ASCII prefix plus 128 bits of its
 * SHA-256, so names of any script and length fit and never collide (W37).
 *
 * Pinecone keeps vectors only, so the records live in NKV (durable, unlike Cache, whose entries can
 * expire or be evicted: an ACL must not vanish): namespace records with their ACLs and datasource
 * records, under the platform team `recordsTeam` (see `PineconeRecords`). A namespace exists when
 * its record does; Pinecone's own namespaces appear and vanish with their vectors.
 *
 * Each vector carries its chunk text, datasource id and label, the datasource's ACL, the JSON of
 * the user metadata and its top-level scalars flattened as `m_<field>` (metadata filters become
 * Pinecone `$eq`/`$in` on them), and the generation of the write that stored it. Replacing a
 * datasource writes the new vectors, then its record, then deletes every vector of the datasource
 * of another generation by filter (W33); a failed write deletes its own generation. Deleting a
 * datasource deletes its recorded ids and then by filter (never a silent no-op, W34). Writes of one
 * datasource, and the creation and drop of one namespace, are serialised in this process (NKV has
 * no conditional write to do it across processes).
 *
 * Requests are retried on 429 and 5xx with backoff (`retry-after` honoured); a refused API key is
 * an `SreAuthError`. Texts are embedded for the namespace's owner on each call (W38). The SDK loads
 * on `connect`.
 */
export class PineconeConnector implements VectorDBBackend {
  static readonly connectorName = 'Pinecone';
  static readonly settingsClass = PineconeSettings;

  private readonly embedder: Embedder;
  private readonly source: SreErrorSource;
  private readonly queue = new KeyedQueue();
  private readonly calls: PineconeCalls;
  private index?: PineconeIndex;
  private records?: PineconeRecords;

  constructor(
    private readonly settings: PineconeSettings,
    private readonly context: ConnectorContext<Deps> = createConnectorContext({
      subsystem: 'VectorDB',
      connector: 'Pinecone',
    }),
    embedder?: Embedder,
  ) {
    this.source = sourceOf(context);
    this.embedder = embedder ?? createEmbedder(settings.embeddings, context.deps.vault, this.source);
    this.calls = new PineconeCalls(this.source, context.secrets);
  }

  async connect(): Promise<void> {
    const label = `${this.source.subsystem}(${this.source.connector}).settings`;
    const nkv = this.context.deps.nkv;
    if (!nkv)
      throw new SreConfigError([`${label}: Pinecone keeps its namespace and datasource records in NKV: configure NKV`]);
    this.index = await openPineconeIndex(this.settings, {
      calls: this.calls,
      logger: this.context.logger,
      source: this.source,
      label,
      dimensions: this.embedder.dimensions,
    });
    this.records = new PineconeRecords(nkv.team(this.settings.recordsTeam ?? 'sre-vectordb'), this.settings.indexName);
  }

  async disconnect(): Promise<void> {
    this.index = undefined;
  }

  async ping(): Promise<void> {
    await this.calls.call('reading index stats', () => this.ready().index.describeIndexStats());
  }

  async readNamespace(key: string): Promise<NamespaceRecord | undefined> {
    const found = await this.ready().records.readNamespace(key);
    if (!found) return undefined;
    const { incarnation: _, ...record } = found;
    return record;
  }

  async listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    return this.ready().records.listNamespaces(owner);
  }

  async createNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean> {
    const { records } = this.ready();
    return this.queue.run(namespace.key, async () => {
      if (await records.readNamespace(namespace.key)) return false;
      // leftovers of a drop that failed half-way must not reappear in the new namespace
      await this.deleteAllVectors(namespace);
      await records.deleteDatasources(namespace.key);
      await records.writeNamespace(record, randomUUID());
      return true;
    });
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
    const { records } = this.ready();
    await this.queue.run(namespace.key, async () => {
      if (!(await records.readNamespace(namespace.key))) return;
      // the record first: a datasource write in flight sees it gone and removes its own vectors
      await records.deleteNamespace(namespace.key);
      await this.deleteAllVectors(namespace);
      await records.deleteDatasources(namespace.key);
    });
  }

  async searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined> {
    return searchPinecone(this.connection(), namespace, query, options);
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    const connection = this.connection();
    return this.queue.run(`${namespace.key}\u0000${datasource.id}`, () =>
      writeDatasource(connection, namespace, datasource),
    );
  }

  async readDatasource(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined> {
    const { records } = this.ready();
    if (!(await records.readNamespace(namespace.key))) return undefined;
    const found = await records.readDatasource(namespace.key, datasourceId);
    if (!found) return undefined;
    const { generation: _, ...datasource } = found;
    return datasource;
  }

  async listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]> {
    const { records } = this.ready();
    if (!(await records.readNamespace(namespace.key))) return [];
    return records.listDatasources(namespace.key);
  }

  async dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean> {
    const { records } = this.ready();
    return this.queue.run(`${namespace.key}\u0000${datasourceId}`, async () => {
      if (!(await records.readNamespace(namespace.key))) return false;
      const found = await records.readDatasource(namespace.key, datasourceId);
      if (!found) return false;
      await deleteDatasourceVectors(this.connection(), namespace, datasourceId, found.vectorIds);
      await records.deleteDatasource(namespace.key, datasourceId);
      return true;
    });
  }

  private async deleteAllVectors(namespace: VectorNamespace): Promise<void> {
    const scoped = this.scoped(namespace);
    // a namespace without vectors does not exist for Pinecone: that is the state wanted
    await this.calls.call('deleting all vectors', () => scoped.deleteAll(), true);
  }

  private scoped(namespace: VectorNamespace): PineconeIndex {
    return namespaceIndex(this.ready().index, namespace);
  }

  /** The parts search and writes need; `records` is the one of this moment, the index is asked for on each use. */
  private connection(): PineconeConnection {
    return {
      calls: this.calls,
      records: this.ready().records,
      embedder: this.embedder,
      settings: this.settings,
      logger: this.context.logger,
      source: this.source,
      scoped: (namespace) => this.scoped(namespace),
    };
  }

  private ready(): { index: PineconeIndex; records: PineconeRecords } {
    if (!this.index || !this.records)
      throw new SreUnavailableError('the Pinecone connector is not connected', this.source);
    return { index: this.index, records: this.records };
  }
}
