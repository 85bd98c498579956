import { SreInvalidInputError } from '../../core/errors';
import type { AccessCandidate } from '../../security/access-candidate';
import { storedDatasourceOf } from '../../vectordb/datasource-record';
import { cosineSimilarity as cosine } from '../../vectordb/embeddings/similarity';
import { NamespaceTable } from '../../vectordb/namespace-table';
import type {
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBBackend,
  VectorNamespace,
  VectorResult,
  VectorSearchOptions,
} from '../../vectordb/vectordb.backend';
import { matchesMetadataFilter } from '../../vectordb/metadata-filter';

export interface MemoryVectorDBOptions {
  /** Length of every vector (default 8). */
  dimensions?: number;
  /** Chunk length in characters when a datasource names none (default 20). */
  chunkSize?: number;
  /**
   * The embedder (default: letter counts folded into `dimensions` buckets, deterministic and
   * offline). It must return `dimensions` finite numbers.
   */
  embed?: (text: string) => number[];
}

interface StoredVector {
  id: string;
  text: string;
  values: number[];
}

interface DatasourceSlot {
  record: StoredDatasource;
  vectors: StoredVector[];
  metadata: Record<string, unknown>;
}

interface NamespaceSlot {
  datasources: Map<string, DatasourceSlot>;
}

/** Letter counts folded into `dimensions` buckets: similar words land near each other, and no network. */
export function foldedLetterCounts(text: string, dimensions = 8): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const char of text.toLowerCase())
    if (char >= 'a' && char <= 'z') vector[(char.charCodeAt(0) - 97) % dimensions]++;
  return vector;
}

/**
 * A VectorDB backend held in memory, for tests: brute-force cosine search over vectors embedded by
 * a toy (or your) embedder, chunks as fixed slices of `chunkSize` characters overlapping by
 * `chunkOverlap`. `new VectorDBService(new MemoryVectorDBBackend(), ctx, { account })`, or
 * `VectorDBModule.forRoot({ connector: MemoryVectorDBBackend })`. What it returns are copies: a
 * caller changing a result never changes what is stored.
 */
export class MemoryVectorDBBackend implements VectorDBBackend {
  static readonly connectorName = 'MemoryVectorDB';

  readonly dimensions: number;
  private readonly chunkSize: number;
  private readonly embedder: (text: string) => number[];
  private readonly namespaces = new NamespaceTable<NamespaceSlot>();

  constructor(options: MemoryVectorDBOptions = {}) {
    this.dimensions = options.dimensions ?? 8;
    this.chunkSize = options.chunkSize ?? 20;
    const dimensions = this.dimensions;
    this.embedder = options.embed ?? ((text) => foldedLetterCounts(text, dimensions));
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  /** The vector this backend stores for `text`: build search queries with it. */
  embed(text: string): number[] {
    const vector = this.embedder(text);
    if (vector.length !== this.dimensions || !vector.every(Number.isFinite))
      throw new Error(`the embedder returned ${vector.length} values, not ${this.dimensions} finite numbers`);
    return vector;
  }

  async readNamespace(key: string): Promise<NamespaceRecord | undefined> {
    return this.namespaces.read(key);
  }

  async listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    return this.namespaces.listOf(owner);
  }

  async createNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean> {
    return this.namespaces.create(namespace.key, record, { datasources: new Map() });
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
    this.namespaces.drop(namespace.key);
  }

  async searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined> {
    if (Array.isArray(query) && query.length !== this.dimensions)
      throw new SreInvalidInputError(`query vector must have ${this.dimensions} dimensions`);
    const target = typeof query === 'string' ? this.embed(query) : query;
    const slot = this.namespaces.slot(namespace.key);
    if (!slot) return undefined;
    // every vector, unsorted: ordering and the topK cut are the service's
    return [...slot.datasources.values()].flatMap(({ vectors, metadata }) =>
      (matchesMetadataFilter(metadata, options.filter) ? vectors : []).map((vector) => ({
        id: vector.id,
        text: vector.text,
        values: [...vector.values],
        score: cosine(vector.values, target),
        ...(options.includeMetadata ? { metadata: structuredClone(metadata) } : {}),
      })),
    );
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    const slot = this.namespaces.slot(namespace.key);
    if (!slot) return undefined;
    const size = datasource.chunkSize ?? this.chunkSize;
    const overlap = datasource.chunkOverlap ?? 0;
    // the service checks the pair only when both are given; the default size is this backend's
    if (overlap >= size) throw new SreInvalidInputError(`chunkOverlap must be smaller than the chunk size (${size})`);
    const chunks: string[] = [];
    for (let start = 0; start < datasource.text.length; start += size - overlap) {
      const chunk = datasource.text.slice(start, start + size);
      if (chunk.trim() !== '') chunks.push(chunk);
      if (start + size >= datasource.text.length) break;
    }
    // embedded before anything is stored: an embedder failure leaves the old datasource as it was
    const vectors = chunks.map((text, i) => ({ id: `${datasource.id}_${i}`, text, values: this.embed(text) }));
    const record = storedDatasourceOf(
      namespace,
      datasource,
      { chunkSize: size, chunkOverlap: overlap },
      vectors.map((vector) => vector.id),
    );
    slot.datasources.set(datasource.id, { record, vectors, metadata: structuredClone(datasource.metadata) });
    return {
      ...structuredClone(record),
      vectorInfo: vectors.map((vector) => ({ id: vector.id, text: vector.text, values: [...vector.values] })),
    };
  }

  async readDatasource(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined> {
    const found = this.namespaces.slot(namespace.key)?.datasources.get(datasourceId);
    return found && structuredClone(found.record);
  }

  async listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]> {
    return [...(this.namespaces.slot(namespace.key)?.datasources.values() ?? [])].map(({ record }) =>
      structuredClone(record),
    );
  }

  async dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean> {
    return this.namespaces.slot(namespace.key)?.datasources.delete(datasourceId) ?? false;
  }

  /** How many vectors are stored across every namespace. */
  get vectorCount(): number {
    let count = 0;
    for (const { datasources } of this.namespaces.all())
      for (const { vectors } of datasources.values()) count += vectors.length;
    return count;
  }

  /** Storage names of every namespace. */
  namespaceKeys(): string[] {
    return this.namespaces.keys();
  }

  /** Forgets everything. */
  clear(): void {
    this.namespaces.clear();
  }
}
