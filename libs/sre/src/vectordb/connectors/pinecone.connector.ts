/* eslint-disable @typescript-eslint/no-require-imports -- the Pinecone SDK loads on connect, not at boot */
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
import type * as PineconeSdk from '@pinecone-database/pinecone';
import { randomUUID } from 'node:crypto';
import { createConnectorContext, redactWith, sourceOf, type ConnectorContext } from '../../core/backend';
import {
  SreAuthError,
  SreBackendError,
  SreConfigError,
  SreError,
  SreInvalidInputError,
  SreRateLimitError,
  SreUnavailableError,
  type SreErrorSource,
} from '../../core/errors';
import { SecretSetting } from '../../core/secrets';
import { TimeoutMsSetting } from '../../core/setting-decorators';
import type { SecretReader } from '../../llm/llm-credentials';
import type { NKVService } from '../../nkv/nkv.service';
import type { AccessCandidate } from '../../security/access-candidate';
import { createEmbedder, EmbeddingsSettings, type Embedder } from '../embeddings/embedder';
import { storedDatasourceOf } from '../datasource-record';
import type {
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBBackend,
  VectorNamespace,
  VectorResult,
  VectorSearchOptions,
} from '../vectordb.backend';
import { retryingFetch } from './pinecone-fetch';
import { flatUserFields, pineconeFilter, userMetadataOf, type PineconeVectorMetadata } from './pinecone-metadata';
import { KeyedQueue } from '../../core/keyed-queue';
import { PineconeRecords, pineconeNamespaceOf } from './pinecone-records';
import { chunkDatasource } from './datasource-chunks';
import { ChunkOverlapSetting, ChunkSizeSetting, EmbeddingsSetting } from './vector-connector-settings';

/** Pinecone's request limits: vectors and bytes per upsert, ids per fetch or delete, topK with values. */
const MAX_UPSERT_VECTORS = 1000;
const MAX_UPSERT_BYTES = 2 * 1024 * 1024;
/** Room for the request's envelope (`{"vectors":[...],"namespace":"..."}`) under the 2 MB. */
const UPSERT_BYTES_BUDGET = MAX_UPSERT_BYTES - 16 * 1024;
const MAX_IDS_PER_DELETE = 1000;
/** Ids per fetch: they travel in the query string. */
const IDS_PER_FETCH = 100;
const MAX_TOP_K_WITH_VALUES = 1000;

export class PineconeSettings {
  /** Default: the environment variable `PINECONE_API_KEY`. Never logged or part of an error (W36). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  apiKey?: string;

  @IsString()
  @Matches(/^[a-z0-9-]{1,45}$/, { message: 'must be 1-45 of a-z 0-9 - (a Pinecone index name)' })
  indexName!: string;

  /** The control plane, for a local or self-hosted Pinecone (`http://localhost:5080`); the scheme is required. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  controllerHostUrl?: string;

  /** Create the index (serverless, cosine, the embeddings' dimensions) when it does not exist. */
  @IsOptional()
  @IsBoolean()
  createIndexIfMissing?: boolean = false;

  @IsOptional()
  @IsIn(['aws', 'gcp', 'azure'])
  cloud?: string = 'aws';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  region?: string = 'us-east-1';

  /** The records of namespaces and datasources live in NKV under this platform team. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1-128 of A-Z a-z 0-9 . _ : -' })
  recordsTeam?: string = 'sre-vectordb';

  @EmbeddingsSetting()
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's Pinecone default). */
  @ChunkSizeSetting(100_000)
  chunkSize?: number = 2000;

  @ChunkOverlapSetting(99_999)
  chunkOverlap?: number = 200;

  /** Vectors per upsert request (Pinecone takes up to 1000 and 2 MB; requests are split by size too). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_UPSERT_VECTORS)
  upsertBatchSize?: number = 100;

  /** Upsert requests in flight at once for one datasource. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(32)
  upsertConcurrency?: number = 4;

  /** Retries of a request answered 429 or 5xx (honouring `retry-after`). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  maxRetries?: number = 3;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  retryDelayMs?: number = 250;

  @TimeoutMsSetting()
  timeoutMs?: number = 30_000;
}

type Deps = { nkv?: NKVService; vault?: SecretReader };
type Index = PineconeSdk.Index<PineconeVectorMetadata>;
type PineconeRecord = PineconeSdk.PineconeRecord<PineconeVectorMetadata>;

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
  private readonly secrets: string[];
  private index?: Index;
  private records?: PineconeRecords;
  private sdk?: typeof PineconeSdk;

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
    this.secrets = [...context.secrets];
  }

  async connect(): Promise<void> {
    const label = `${this.source.subsystem}(${this.source.connector}).settings`;
    const nkv = this.context.deps.nkv;
    if (!nkv)
      throw new SreConfigError([`${label}: Pinecone keeps its namespace and datasource records in NKV: configure NKV`]);
    const apiKey = this.settings.apiKey ?? process.env.PINECONE_API_KEY;
    if (!apiKey) throw new SreConfigError([`${label}.apiKey: set it, or the environment variable PINECONE_API_KEY`]);
    this.secrets.push(apiKey);
    try {
      this.sdk = require('@pinecone-database/pinecone') as typeof PineconeSdk;
    } catch {
      throw new SreUnavailableError(
        'Pinecone: install @pinecone-database/pinecone (npm i @pinecone-database/pinecone@^8)',
        this.source,
      );
    }
    const { logger } = this.context;
    const client = new this.sdk.Pinecone({
      apiKey,
      ...(this.settings.controllerHostUrl ? { controllerHostUrl: this.settings.controllerHostUrl } : {}),
      maxRetries: 0,
      fetchApi: retryingFetch(
        {
          retries: this.settings.maxRetries ?? 3,
          initialDelayMs: this.settings.retryDelayMs ?? 250,
          maxDelayMs: 20_000,
          timeoutMs: this.settings.timeoutMs ?? 30_000,
        },
        (status, attempt, delay) =>
          logger.warn(`Pinecone answered ${status}; retry ${attempt} in ${Math.round(delay)} ms`),
      ),
    });
    const name = this.settings.indexName;
    let model = await this.call(`describing index '${name}'`, () => client.describeIndex(name), true);
    if (!model && this.settings.createIndexIfMissing) {
      await this.call(`creating index '${name}'`, () =>
        client.createIndex({
          name,
          dimension: this.embedder.dimensions,
          metric: 'cosine',
          spec: {
            serverless: {
              cloud: (this.settings.cloud ?? 'aws') as 'aws',
              region: this.settings.region ?? 'us-east-1',
            },
          },
          waitUntilReady: true,
          suppressConflicts: true,
        }),
      );
      model = await this.call(`describing index '${name}'`, () => client.describeIndex(name));
    }
    if (!model)
      throw new SreConfigError([
        `${label}.indexName: Pinecone has no index '${name}' (create it, or set createIndexIfMissing)`,
      ]);
    if (model.dimension !== undefined && model.dimension !== this.embedder.dimensions)
      throw new SreConfigError([
        `${label}.embeddings.dimensions: index '${name}' holds ${model.dimension}-dimensional vectors, the embeddings make ${this.embedder.dimensions}`,
      ]);
    // the described host, not the index name: the SDK caches name -> host per API key in a
    // process-wide map, which a second client of the same key would share
    this.index = client.index<PineconeVectorMetadata>({ host: model.host });
    this.records = new PineconeRecords(nkv.team(this.settings.recordsTeam ?? 'sre-vectordb'), name);
  }

  async disconnect(): Promise<void> {
    this.index = undefined;
  }

  async ping(): Promise<void> {
    await this.call('reading index stats', () => this.ready().index.describeIndexStats());
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
    const { records } = this.ready();
    if (!(await records.readNamespace(namespace.key))) return undefined;
    let vector = query;
    if (typeof vector === 'string') {
      vector = (await this.embedder.embed([vector], namespace.owner))[0];
      if (!(await records.readNamespace(namespace.key))) return undefined;
    }
    if (vector.length !== this.embedder.dimensions)
      throw new SreInvalidInputError(
        `a vector of ${vector.length} dimensions does not fit this index's ${this.embedder.dimensions}`,
        this.source,
      );
    // cosine with a zero vector is 0 for every vector: any topK of them, scored 0 (Pinecone may refuse the zero vector)
    const zero = vector.every((value) => value === 0);
    const probe = zero ? vector.map((_, i) => (i === vector.length - 1 ? 1 : 0)) : vector;
    const scoped = this.scoped(namespace);
    const filter = pineconeFilter(options.filter);
    const withData = options.topK <= MAX_TOP_K_WITH_VALUES;
    const answer = await this.call('searching', () =>
      scoped.query({
        vector: probe,
        topK: options.topK,
        includeValues: withData,
        includeMetadata: withData,
        ...(filter ? { filter } : {}),
      }),
    );
    let hits = answer.matches.map((match) => ({
      id: match.id,
      score: zero ? 0 : (match.score ?? 0),
      values: match.values,
      metadata: match.metadata as Record<string, unknown> | undefined,
    }));
    if (!withData) {
      // Pinecone answers at most 1000 matches with values: the ids first, then the vectors by id
      const found = new Map<string, PineconeRecord>();
      for (let i = 0; i < hits.length; i += IDS_PER_FETCH) {
        const ids = hits.slice(i, i + IDS_PER_FETCH).map((hit) => hit.id);
        const fetched = await this.call('fetching vectors', () => scoped.fetch({ ids }));
        for (const [id, record] of Object.entries(fetched.records)) found.set(id, record);
      }
      hits = hits
        .filter((hit) => found.has(hit.id))
        .map((hit) => ({ ...hit, values: found.get(hit.id)!.values, metadata: found.get(hit.id)!.metadata }));
    }
    return hits.map((hit) => {
      const result: VectorResult = {
        id: hit.id,
        score: hit.score,
        values: [...(hit.values ?? [])],
        text: typeof hit.metadata?.text === 'string' ? hit.metadata.text : '',
      };
      if (options.includeMetadata) result.metadata = userMetadataOf(hit.metadata);
      return result;
    });
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    const { records } = this.ready();
    return this.queue.run(`${namespace.key}\u0000${datasource.id}`, async () => {
      const before = await records.readNamespace(namespace.key);
      if (!before) return undefined;
      const chunking = chunkDatasource(
        datasource,
        { chunkSize: this.settings.chunkSize ?? 2000, chunkOverlap: this.settings.chunkOverlap ?? 200 },
        this.source,
      );
      const { texts } = chunking;
      // embedded before anything is written: a failure leaves the namespace as it was
      const vectors = await this.embedder.embed(texts, namespace.owner);
      const generation = randomUUID();
      const base = {
        namespaceId: namespace.key,
        datasourceId: datasource.id,
        datasourceLabel: datasource.label,
        generation,
        acl: datasource.acl.serialize(),
        user_metadata: JSON.stringify(datasource.metadata),
        ...flatUserFields(datasource.metadata),
      };
      const items: PineconeRecord[] = texts.map((text, i) => ({
        id: `${datasource.id}_${randomUUID()}`,
        values: vectors[i],
        metadata: { ...base, text, chunkIndex: i } as PineconeVectorMetadata,
      }));
      const scoped = this.scoped(namespace);
      const ownGeneration = { datasourceId: { $eq: datasource.id }, generation: { $eq: generation } };
      try {
        await this.upsertAll(scoped, items);
        const after = await records.readNamespace(namespace.key);
        // dropped (and maybe created again) meanwhile: nothing of this write may stay
        if (after?.incarnation !== before.incarnation) {
          await this.call('deleting vectors', () => scoped.deleteMany({ filter: ownGeneration }));
          return undefined;
        }
        const stored = storedDatasourceOf(
          namespace,
          datasource,
          chunking,
          items.map((item) => item.id),
        );
        await records.writeDatasource(namespace.key, stored, generation);
        // the record names the new vectors now: every other generation of this datasource goes (W33)
        await this.call('deleting replaced vectors', () =>
          scoped.deleteMany({
            filter: { datasourceId: { $eq: datasource.id }, generation: { $ne: generation } },
          }),
        );
        if (datasource.returnFullVectorInfo)
          stored.vectorInfo = items.map((item) => ({
            id: item.id,
            values: [...(item.values ?? [])],
            text: item.metadata!.text,
          }));
        return stored;
      } catch (error) {
        const current = await records.readDatasource(namespace.key, datasource.id).catch(() => undefined);
        if (current?.generation !== generation)
          await this.call('deleting vectors of a failed write', () =>
            scoped.deleteMany({ filter: ownGeneration }),
          ).catch((cleanup: unknown) =>
            this.context.logger.warn(
              `could not delete the vectors of a failed write of datasource '${datasource.id}': ${this.redact(cleanup)}`,
            ),
          );
        throw error;
      }
    });
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
      const scoped = this.scoped(namespace);
      for (let i = 0; i < found.vectorIds.length; i += MAX_IDS_PER_DELETE) {
        const ids = found.vectorIds.slice(i, i + MAX_IDS_PER_DELETE);
        await this.call('deleting vectors', () => scoped.deleteMany({ ids }));
      }
      // vectors of writes that were cut short are not in the record
      await this.call('deleting vectors', () => scoped.deleteMany({ filter: { datasourceId: { $eq: datasourceId } } }));
      await records.deleteDatasource(namespace.key, datasourceId);
      return true;
    });
  }

  /** Upserts in requests of at most `upsertBatchSize` vectors and 2 MB, a few at a time. */
  private async upsertAll(scoped: Index, items: PineconeRecord[]): Promise<void> {
    const limit = this.settings.upsertBatchSize ?? 100;
    const batches: PineconeRecord[][] = [];
    let batch: PineconeRecord[] = [];
    let bytes = 0;
    for (const item of items) {
      const size = Buffer.byteLength(JSON.stringify(item)) + 1;
      if (size > UPSERT_BYTES_BUDGET)
        throw new SreInvalidInputError(
          `a chunk of datasource '${item.metadata?.datasourceId}' with its metadata takes ${size} bytes, more than a Pinecone request carries`,
          this.source,
        );
      if (batch.length && (batch.length >= limit || bytes + size > UPSERT_BYTES_BUDGET)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += size;
    }
    if (batch.length) batches.push(batch);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const records = batches[next++];
        await this.call('upserting vectors', () => scoped.upsert({ records }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.upsertConcurrency ?? 4, batches.length) }, worker));
  }

  private async deleteAllVectors(namespace: VectorNamespace): Promise<void> {
    const scoped = this.scoped(namespace);
    // a namespace without vectors does not exist for Pinecone: that is the state wanted
    await this.call('deleting all vectors', () => scoped.deleteAll(), true);
  }

  private scoped(namespace: VectorNamespace): Index {
    return this.ready().index.namespace(pineconeNamespaceOf(namespace.key));
  }

  private ready(): { index: Index; records: PineconeRecords } {
    if (!this.index || !this.records)
      throw new SreUnavailableError('the Pinecone connector is not connected', this.source);
    return { index: this.index, records: this.records };
  }

  private redact(error: unknown): string {
    return redactWith({ secrets: this.secrets }, error instanceof Error ? error.message : String(error));
  }

  /** Runs an SDK call; its errors become typed ones. With `missingIsUndefined`, a 404 answers `undefined`. */
  private call<T>(what: string, run: () => Promise<T>, missingIsUndefined: true): Promise<T | undefined>;
  private call<T>(what: string, run: () => Promise<T>): Promise<T>;
  private async call<T>(what: string, run: () => Promise<T>, missingIsUndefined = false): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SreError) throw error;
      const name = error instanceof Error ? error.name : '';
      if (missingIsUndefined && name === 'PineconeNotFoundError') return undefined;
      const message = this.redact(error);
      const cause = { cause: error };
      if (name === 'PineconeAuthorizationError')
        throw new SreAuthError(`Pinecone refused the API key while ${what}`, this.source, undefined, cause);
      if (/\bStatus: 429\b/.test(message))
        throw new SreRateLimitError(
          `Pinecone kept answering 429 (rate limit) while ${what}`,
          this.source,
          undefined,
          cause,
        );
      throw new SreBackendError(`Pinecone failed while ${what}: ${message}`, this.source, cause);
    }
  }
}
