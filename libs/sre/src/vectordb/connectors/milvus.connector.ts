import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
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
import { MilvusStatusError } from './milvus-client';
import { MilvusCollections } from './milvus-collections';
import { MilvusDatasources } from './milvus-datasources';
import { CollectionRecordStore, NKVRecordStore, type DatasourceRecordStore } from './milvus-records';
import { createMilvusRows } from './milvus-rows';
import { MilvusSearch } from './milvus-search';
import { MilvusSession } from './milvus-session';
import { MilvusSettings } from './milvus-settings';

// the settings lived here first: imports of them from this file keep working
export { MilvusCredentials, MilvusSettings } from './milvus-settings';

type MilvusDeps = { vault?: SecretReader; nkv?: NKVService };

/**
 * Milvus through its official SDK: one collection per namespace (the record, ACL included, in a
 * collection property, so namespace and record appear and vanish together), chunks embedded for
 * the namespace's owner on each call (W38), datasource records in NKV when available or else in the
 * collection. Every response's status is checked (the SDK answers failures, it does not throw
 * them); filters are built from literals (W35); credentials reach the SDK and nothing else (W36).
 */
export class MilvusConnector implements VectorDBBackend {
  static readonly connectorName = 'Milvus';
  static readonly settingsClass = MilvusSettings;

  private readonly session: MilvusSession;
  private readonly records: DatasourceRecordStore;
  private readonly prefix: string;
  private readonly collections: MilvusCollections;
  private readonly datasources: MilvusDatasources;
  private readonly searcher: MilvusSearch;

  constructor(
    private readonly settings: MilvusSettings,
    private readonly context: ConnectorContext<MilvusDeps> = createConnectorContext({
      subsystem: 'VectorDB',
      connector: 'Milvus',
    }),
    embedder?: Embedder,
  ) {
    this.session = new MilvusSession(context);
    const source = this.session.source;
    this.prefix = settings.collectionPrefix ?? 'sre';
    const embedding = embedder ?? createEmbedder(settings.embeddings, context.deps.vault, source);
    const mode = settings.datasourceRecords ?? 'auto';
    if (mode === 'nkv' && !context.deps.nkv)
      throw new SreInvalidInputError(
        'VectorDB(Milvus).settings.datasourceRecords: nkv needs the NKV subsystem (import NKVModule or use SreModule)',
        source,
      );
    this.collections = new MilvusCollections(
      this.session,
      this.prefix,
      embedding.dimensions,
      settings.timeoutMs ?? 30_000,
    );
    const rows = createMilvusRows(this.session, this.collections, embedding?.dimensions ?? 0);
    this.records =
      mode !== 'collection' && context.deps.nkv
        ? new NKVRecordStore(context.deps.nkv, settings.recordsTeam ?? 'sre-vectordb')
        : new CollectionRecordStore(rows);
    const chunks = { chunkSize: settings.chunkSize ?? 1000, chunkOverlap: settings.chunkOverlap ?? 200 };
    this.datasources = new MilvusDatasources(this.collections, rows, this.records, embedding, chunks, source);
    this.searcher = new MilvusSearch(this.session, this.collections, embedding);
  }

  async connect(): Promise<void> {
    if (this.session.connected) return;
    const { credentials } = this.settings;
    await this.session.open(
      {
        address: credentials.address,
        token: credentials.token,
        user: credentials.user,
        password: credentials.password,
        database: this.settings.database,
        ssl: this.settings.ssl,
        timeoutMs: this.settings.timeoutMs ?? 30_000,
      },
      `${this.prefix}_probe`,
    );
    this.context.logger.debug(
      `connected (records in ${this.records instanceof NKVRecordStore ? 'NKV' : 'the collections'})`,
    );
  }

  async disconnect(): Promise<void> {
    const closing = this.session.close();
    this.collections.forget();
    await closing;
  }

  async ping(): Promise<void> {
    // CheckHealth answers `isHealthy` and reasons instead of a status
    const health = await this.session.attempt('health check', (c) => c.checkHealth());
    if (!health.isHealthy)
      throw new MilvusStatusError(
        'health check',
        { reason: (health.reasons as string[]).join('; ') || 'unhealthy' },
        this.session.redact,
        this.session.source,
      );
  }

  readNamespace(key: string): Promise<NamespaceRecord | undefined> {
    return this.collections.read(key);
  }

  listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    return this.collections.list(owner);
  }

  createNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean> {
    return this.collections.create(namespace, record);
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
    const dropped = await this.collections.drop(namespace);
    if (dropped) await this.records.dropAll(dropped);
  }

  searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined> {
    return this.searcher.search(namespace, query, options);
  }

  upsertDatasource(namespace: VectorNamespace, datasource: DatasourceInput): Promise<StoredDatasource | undefined> {
    return this.datasources.upsert(namespace, datasource);
  }

  readDatasource(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined> {
    return this.datasources.read(namespace, datasourceId);
  }

  listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]> {
    return this.datasources.list(namespace);
  }

  dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean> {
    return this.datasources.drop(namespace, datasourceId);
  }
}
