import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { createConnectorContext, sourceOf, type ConnectorContext } from '../../core/backend';
import type { SreErrorSource } from '../../core/errors';
import type { SecretReader } from '../../llm/llm-credentials';
import type { AccessCandidate } from '../../security/access-candidate';
import { createEmbedder, EmbeddingsSettings, type Embedder } from '../embeddings/embedder';
import type {
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBBackend,
  VectorNamespace,
  VectorResult,
  VectorSearchOptions,
} from '../vectordb.backend';
import { isEmptyFilter, matchesMetadataFilter } from '../metadata-filter';
import { NamespaceTable } from '../namespace-table';
import { storedDatasourceOf } from '../datasource-record';
import { chunkDatasource } from './datasource-chunks';
import { ChunkOverlapSetting, ChunkSizeSetting, EmbeddingsSetting } from './vector-connector-settings';
import { defaultWorkers, MAX_WORKERS, RAMVecPool } from './ramvec-pool';
import { VectorRows, type RAMVecQuantization } from './ramvec-rows';

export class RAMVecSettings {
  @EmbeddingsSetting()
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's embedder default). */
  @ChunkSizeSetting(100_000)
  chunkSize?: number = 512;

  @ChunkOverlapSetting(99_999)
  chunkOverlap?: number = 100;

  /** Worker threads that scan large namespaces (default: one a core; 0: every search on the main thread). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_WORKERS)
  workers?: number = defaultWorkers();

  /**
   * Vectors from which a namespace is scanned by the workers (below, the hop costs more than it
   * saves). Default: 16 MB of rows (~2,700 vectors of 1536 dimensions in fp32).
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  workerThreshold?: number;

  /**
   * 'none': fp32 rows, exact. 'int8': an int8 copy is scanned and the fp32 rows rescored (exact,
   * ~1.25x the memory, a quarter of the reads). 'bf16': bf16 rows only (half the memory, lossy).
   */
  @IsOptional()
  @IsIn(['none', 'int8', 'bf16'])
  quantization?: RAMVecQuantization = 'none';
}

/** What a row carries besides its numbers. */
interface Chunk {
  id: string;
  datasourceId: string;
  text: string;
}

interface Namespace {
  rows: VectorRows<Chunk>;
  /** Records by datasource id, with the user metadata as an object for search results. */
  datasources: Map<string, { stored: StoredDatasource; metadata: Record<string, unknown> }>;
}

/**
 * Vectors in this process' memory: one `VectorRows` per namespace (fp32, packed, exact cosine
 * search), lost at exit and private to this instance (the original's maps were static, shared by
 * every instance). Texts are chunked with the original's splitter and embedded for the
 * namespace's owner on each call, so one team's API key never embeds another's texts (W38).
 */
export class RAMVecConnector implements VectorDBBackend {
  static readonly connectorName = 'RAMVec';
  static readonly settingsClass = RAMVecSettings;

  private readonly namespaces = new NamespaceTable<Namespace>();
  private readonly embedder: Embedder;
  private readonly source: SreErrorSource;
  private readonly pool?: RAMVecPool;

  constructor(
    private readonly settings: Partial<RAMVecSettings> = {},
    context: ConnectorContext<{ vault?: SecretReader }> = createConnectorContext({
      subsystem: 'VectorDB',
      connector: 'RAMVec',
    }),
    embedder?: Embedder,
  ) {
    this.source = sourceOf(context);
    const workers = settings.workers ?? defaultWorkers();
    if (workers > 0) this.pool = new RAMVecPool(workers, this.source);
    this.embedder = embedder ?? createEmbedder(settings.embeddings, context.deps.vault, this.source);
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {
    this.namespaces.all().forEach((namespace) => namespace.rows.dispose());
    this.namespaces.clear();
    await this.pool?.close();
  }

  /** Vectors held in every namespace. */
  get size(): number {
    return this.namespaces.all().reduce((total, namespace) => total + namespace.rows.size, 0);
  }

  async readNamespace(key: string): Promise<NamespaceRecord | undefined> {
    return this.namespaces.read(key);
  }

  async listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    return this.namespaces.listOf(owner);
  }

  async createNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean> {
    return this.namespaces.create(namespace.key, record, {
      rows: new VectorRows<Chunk>(this.embedder.dimensions, this.source, {
        pool: this.pool,
        workerThreshold: this.settings.workerThreshold,
        quantization: this.settings.quantization,
      }),
      datasources: new Map(),
    });
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
    this.namespaces.slot(namespace.key)?.rows.dispose();
    this.namespaces.drop(namespace.key);
  }

  async searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined> {
    let found = this.namespaces.slot(namespace.key);
    if (!found) return undefined;
    const vector = typeof query === 'string' ? (await this.embedder.embed([query], namespace.owner))[0] : query;
    // embedding took a while: the namespace may be gone (or dropped and created again) meanwhile
    found = this.namespaces.slot(namespace.key);
    if (!found) return undefined;
    const { rows, datasources } = found;
    const only = isEmptyFilter(options.filter)
      ? undefined
      : (chunk: Chunk) => {
          const metadata = datasources.get(chunk.datasourceId)?.metadata;
          return metadata !== undefined && matchesMetadataFilter(metadata, options.filter);
        };
    return (await rows.nearest(vector, options.topK, only)).map(({ score, payload: chunk, values }) => {
      const result: VectorResult = { id: chunk.id, score, values, text: chunk.text };
      if (options.includeMetadata) result.metadata = { ...datasources.get(chunk.datasourceId)?.metadata };
      return result;
    });
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    if (!this.namespaces.slot(namespace.key)) return undefined;
    const defaults = { chunkSize: this.settings.chunkSize ?? 512, chunkOverlap: this.settings.chunkOverlap ?? 100 };
    const chunking = chunkDatasource(datasource, defaults, this.source);
    const { texts } = chunking;
    // embedded before anything changes: a failure leaves the namespace as it was
    const vectors = await this.embedder.embed(texts, namespace.owner);
    const found = this.namespaces.slot(namespace.key);
    if (!found) return undefined;
    const chunks = texts.map((text, i) => ({
      id: `${datasource.id}_${randomUUID()}`,
      datasourceId: datasource.id,
      text,
      i,
    }));
    // the same id again replaces the datasource whole: its old vectors go (W33)
    if (found.datasources.has(datasource.id)) found.rows.removeWhere((chunk) => chunk.datasourceId === datasource.id);
    chunks.forEach((chunk) =>
      found.rows.add(vectors[chunk.i], { id: chunk.id, datasourceId: chunk.datasourceId, text: chunk.text }),
    );
    const stored = storedDatasourceOf(
      namespace,
      datasource,
      chunking,
      chunks.map((chunk) => chunk.id),
    );
    found.datasources.set(datasource.id, { stored, metadata: structuredClone(datasource.metadata) });
    const result = copyDatasource(stored);
    if (datasource.returnFullVectorInfo)
      result.vectorInfo = chunks.map((chunk) => ({ id: chunk.id, values: [...vectors[chunk.i]], text: chunk.text }));
    return result;
  }

  async readDatasource(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined> {
    const found = this.namespaces.slot(namespace.key)?.datasources.get(datasourceId);
    return found && copyDatasource(found.stored);
  }

  async listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]> {
    return [...(this.namespaces.slot(namespace.key)?.datasources.values() ?? [])].map(({ stored }) =>
      copyDatasource(stored),
    );
  }

  async dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean> {
    const found = this.namespaces.slot(namespace.key);
    if (!found?.datasources.delete(datasourceId)) return false;
    found.rows.removeWhere((chunk) => chunk.datasourceId === datasourceId);
    return true;
  }
}

function copyDatasource(stored: StoredDatasource): StoredDatasource {
  return { ...stored, vectorIds: [...stored.vectorIds], createdAt: stored.createdAt && new Date(stored.createdAt) };
}
