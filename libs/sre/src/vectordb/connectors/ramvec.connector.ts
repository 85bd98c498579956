import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { createConnectorContext, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import type { SecretReader } from '../../llm/llm-credentials';
import type { AccessCandidate } from '../../security/access-candidate';
import { chunkText } from '../embeddings/chunker';
import { EmbeddingsSettings, OpenAIEmbedder, type Embedder } from '../embeddings/embedder';
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
import { VectorRows } from './ramvec-rows';

export class RAMVecSettings {
  @IsOptional()
  @ValidateNested()
  @Type(() => EmbeddingsSettings)
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's embedder default). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  chunkSize?: number = 512;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(99_999)
  chunkOverlap?: number = 100;
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

  constructor(
    private readonly settings: Partial<RAMVecSettings> = {},
    context: ConnectorContext<{ vault?: SecretReader }> = createConnectorContext({
      subsystem: 'VectorDB',
      connector: 'RAMVec',
    }),
    embedder?: Embedder,
  ) {
    this.source = sourceOf(context);
    this.embedder =
      embedder ??
      new OpenAIEmbedder(Object.assign(new EmbeddingsSettings(), settings.embeddings), context.deps.vault, this.source);
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {
    this.namespaces.clear();
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
      rows: new VectorRows<Chunk>(this.embedder.dimensions, this.source),
      datasources: new Map(),
    });
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
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
    return rows.nearest(vector, options.topK, only).map(({ row, score }) => {
      const chunk = rows.payload(row);
      const result: VectorResult = { id: chunk.id, score, values: rows.values(row), text: chunk.text };
      if (options.includeMetadata) result.metadata = { ...datasources.get(chunk.datasourceId)?.metadata };
      return result;
    });
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    if (!this.namespaces.slot(namespace.key)) return undefined;
    const chunkSize = datasource.chunkSize ?? this.settings.chunkSize ?? 512;
    const overlap = datasource.chunkOverlap ?? Math.min(this.settings.chunkOverlap ?? 100, chunkSize - 1);
    const texts = chunkText(datasource.text, chunkSize, overlap, this.source);
    if (texts.length === 0) throw new SreInvalidInputError('the datasource text has nothing to embed', this.source);
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
    const stored: StoredDatasource = {
      id: datasource.id,
      namespaceId: namespace.key,
      name: datasource.label,
      text: datasource.text,
      metadata: JSON.stringify(datasource.metadata),
      vectorIds: chunks.map((chunk) => chunk.id),
      candidateId: namespace.owner.id,
      candidateRole: namespace.owner.role,
      datasourceSizeMb: Buffer.byteLength(datasource.text) / 1024 / 1024,
      createdAt: new Date(),
      chunkSize,
      chunkOverlap: overlap,
    };
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
