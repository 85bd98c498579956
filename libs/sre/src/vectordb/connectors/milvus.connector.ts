import type { MilvusClient, RowData } from '@zilliz/milvus2-sdk-node';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { randomUUID } from 'node:crypto';
import { createConnectorContext, redactWith, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import { SecretSetting } from '../../core/secrets';
import { TimeoutMsSetting } from '../../core/setting-decorators';
import type { SecretReader } from '../../llm/llm-credentials';
import type { NKVService } from '../../nkv/nkv.service';
import type { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { storedDatasourceOf } from '../datasource-record';
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
import {
  createMilvusClient,
  isCollectionMissing,
  isStatus,
  isSuccess,
  loadMilvusSdk,
  MilvusStatusError,
  wrapThrown,
  type MilvusSdk,
  type MilvusStatus,
} from './milvus-client';
import { all, differs, equals, metadataFilter, MilvusExpressionError, type MilvusExpression } from './milvus-expr';
import {
  CollectionRecordStore,
  NKVRecordStore,
  toStored,
  type DatasourceRecord,
  type DatasourceRecordStore,
  type MilvusRows,
} from './milvus-records';
import {
  CHUNK,
  COLLECTION_PREFIX,
  collectionFields,
  collectionOf,
  MAX_WINDOW,
  NAMESPACE_PROPERTY,
  ownerPart,
  TEXT_BYTES,
} from './milvus-schema';
import { chunkDatasource } from './datasource-chunks';
import { KeyedQueue } from '../../core/keyed-queue';
import { ChunkOverlapSetting, ChunkSizeSetting, EmbeddingsSetting } from './vector-connector-settings';

/** Where the connector reaches Milvus (the seed's shape): a token, or a user and password. */
export class MilvusCredentials {
  /** `host:port` (insecure), `https://host:port` (TLS), or a Zilliz Cloud endpoint. */
  @IsString()
  @IsNotEmpty()
  address!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  token?: string;

  @ValidateIf((credentials: MilvusCredentials) => credentials.user !== undefined || credentials.password !== undefined)
  @IsString({ message: 'must be a string (user and password go together)' })
  @IsNotEmpty({ message: 'must not be empty (user and password go together)' })
  user?: string;

  @ValidateIf((credentials: MilvusCredentials) => credentials.user !== undefined || credentials.password !== undefined)
  @IsString({ message: 'must be a string (user and password go together)' })
  @IsNotEmpty({ message: 'must not be empty (user and password go together)' })
  @SecretSetting()
  password?: string;
}

export class MilvusSettings {
  @IsDefined({ message: 'is required: { address, token } or { address, user, password }' })
  @ValidateNested()
  @Type(() => MilvusCredentials)
  credentials!: MilvusCredentials;

  @EmbeddingsSetting()
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's Milvus default). */
  @ChunkSizeSetting(16_000)
  chunkSize?: number = 1000;

  @ChunkOverlapSetting(15_999)
  chunkOverlap?: number = 200;

  /** Start of every collection name this connector creates (and the only ones it lists). */
  @IsOptional()
  @Matches(COLLECTION_PREFIX, { message: 'must be 1-32 of A-Z a-z 0-9 _, not starting with a digit' })
  collectionPrefix?: string = 'sre';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  database?: string;

  @IsOptional()
  @IsBoolean()
  ssl?: boolean;

  @TimeoutMsSetting()
  timeoutMs?: number = 30_000;

  /**
   * Where datasource records live: `auto` (NKV when the application provides it, else the
   * collection), `nkv` (boot fails without it) or `collection`.
   */
  @IsOptional()
  @IsIn(['auto', 'nkv', 'collection'])
  datasourceRecords?: 'auto' | 'nkv' | 'collection' = 'auto';

  /** The NKV team scope that holds the records (one for the connector: records belong to namespaces). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 . _ -' })
  recordsTeam?: string = 'sre-vectordb';
}

type MilvusDeps = { vault?: SecretReader; nkv?: NKVService };

/** The collection is gone (dropped meanwhile, or never there): every operation answers "nothing". */
class CollectionGone extends Error {}

interface StoredNamespace {
  record: Omit<NamespaceRecord, 'acl'> & { acl: string };
  nonce: string;
}

const CHUNK_ROW_FIELDS = ['text', 'vector'];
/** Milvus' code for a read on a collection that is not loaded. */
const NOT_LOADED = 101;

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

  private client?: MilvusClient;
  private sdk?: MilvusSdk;
  private readonly embedder: Embedder;
  private readonly source: SreErrorSource;
  private readonly records: DatasourceRecordStore;
  private readonly prefix: string;
  /** Collections known to be indexed and loaded by this process. */
  private readonly ready = new Map<string, Promise<void>>();
  /** Writes of one datasource, one after the other (a replacement is delete-after-insert). */
  private readonly writing = new KeyedQueue();

  constructor(
    private readonly settings: MilvusSettings,
    private readonly context: ConnectorContext<MilvusDeps> = createConnectorContext({
      subsystem: 'VectorDB',
      connector: 'Milvus',
    }),
    embedder?: Embedder,
  ) {
    this.source = sourceOf(context);
    this.prefix = settings.collectionPrefix ?? 'sre';
    this.embedder = embedder ?? createEmbedder(settings.embeddings, context.deps.vault, this.source);
    const mode = settings.datasourceRecords ?? 'auto';
    if (mode === 'nkv' && !context.deps.nkv)
      throw new SreInvalidInputError(
        'VectorDB(Milvus).settings.datasourceRecords: nkv needs the NKV subsystem (import NKVModule or use SreModule)',
        this.source,
      );
    this.records =
      mode !== 'collection' && context.deps.nkv
        ? new NKVRecordStore(context.deps.nkv, settings.recordsTeam ?? 'sre-vectordb')
        : new CollectionRecordStore(this.rows());
  }

  async connect(): Promise<void> {
    if (this.client) return;
    this.sdk = loadMilvusSdk(this.source);
    const { credentials } = this.settings;
    const client = createMilvusClient(this.sdk, {
      address: credentials.address,
      token: credentials.token,
      user: credentials.user,
      password: credentials.password,
      database: this.settings.database,
      ssl: this.settings.ssl,
      timeoutMs: this.settings.timeoutMs ?? 30_000,
    });
    try {
      await client.connectPromise;
      // Connect succeeds without checking credentials on some servers: a real call does
      const probe = await client.hasCollection({ collection_name: `${this.prefix}_probe` });
      if (!isSuccess(probe.status)) throw new MilvusStatusError('connect', probe.status, this.redact, this.source);
    } catch (error) {
      await client.closeConnection().catch(() => undefined);
      throw wrapThrown(error, 'connect', this.redact, this.source);
    }
    this.client = client;
    this.context.logger.debug(
      `connected (records in ${this.records instanceof NKVRecordStore ? 'NKV' : 'the collections'})`,
    );
  }

  async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.ready.clear();
    await client?.closeConnection();
  }

  async ping(): Promise<void> {
    // CheckHealth answers `isHealthy` and reasons instead of a status
    const health = await this.attempt('health check', (c) => c.checkHealth());
    if (!health.isHealthy)
      throw new MilvusStatusError(
        'health check',
        { reason: (health.reasons as string[]).join('; ') || 'unhealthy' },
        this.redact,
        this.source,
      );
  }

  // ------------------------------------------------------------------------------------------
  // namespaces

  async readNamespace(key: string): Promise<NamespaceRecord | undefined> {
    const stored = await this.describe(collectionOf(this.prefix, key));
    return stored && stored.record.namespace === key ? toRecord(stored) : undefined;
  }

  async listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]> {
    const listed = await this.call(
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

  async createNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean> {
    const name = this.collection(namespace);
    const exists = await this.call(
      'check a collection',
      (c) => c.hasCollection({ collection_name: name }),
      (r) => r.status,
    );
    if (exists.value) return false;
    const nonce = randomUUID();
    const stored: StoredNamespace = {
      record: { ...record, metadata: record.metadata, acl: record.acl.serialize() },
      nonce,
    };
    const sdk = this.requireSdk();
    const created = await this.attempt('create a collection', (c) =>
      c
        .createCollection({
          collection_name: name,
          description: 'nestjs-sre VectorDB namespace',
          fields: collectionFields(sdk, this.embedder.dimensions),
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
      const again = await this.call(
        'check a collection',
        (c) => c.hasCollection({ collection_name: name }),
        (r) => r.status,
      );
      if (again.value) return false;
      throw new MilvusStatusError('create a collection', created, this.redact, this.source);
    }
    // Milvus answers success to a create that repeats an existing one: the nonce tells who won
    const now = await this.describe(name);
    if (now?.nonce !== nonce) return false;
    await this.prepare(name);
    return true;
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
    const name = this.collection(namespace);
    const stored = await this.describe(name);
    if (!stored || stored.record.namespace !== namespace.key) return;
    this.ready.delete(name);
    const dropped = await this.attempt('drop a collection', (c) => c.dropCollection({ collection_name: name }));
    if (!isSuccess(dropped) && !isCollectionMissing(dropped))
      throw new MilvusStatusError('drop a collection', dropped, this.redact, this.source);
    this.ready.delete(name);
    await this.records.dropAll(name);
  }

  // ------------------------------------------------------------------------------------------
  // search and datasources

  async searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined> {
    const name = await this.existing(namespace);
    if (!name) return undefined;
    const vector = typeof query === 'string' ? (await this.embedder.embed([query], namespace.owner))[0] : query;
    if (vector.length !== this.embedder.dimensions)
      throw new SreInvalidInputError(
        `a vector of ${vector.length} dimensions does not fit this namespace's ${this.embedder.dimensions}`,
        this.source,
      );
    const filter = this.expression(() => {
      const byMetadata = metadataFilter('user_metadata', options.filter);
      return byMetadata ? all(equals('kind', CHUNK), byMetadata) : equals('kind', CHUNK);
    });
    try {
      await this.prepare(name);
      const found = await this.loaded(name, () =>
        this.call(
          'search',
          (c) =>
            c.search({
              collection_name: name,
              anns_field: 'vector',
              data: vector,
              limit: Math.min(options.topK, MAX_WINDOW),
              filter,
              metric_type: 'COSINE',
              output_fields: options.includeMetadata ? [...CHUNK_ROW_FIELDS, 'user_metadata'] : CHUNK_ROW_FIELDS,
            }),
          (r) => r.status,
        ),
      );
      return found.results.map((hit) => {
        const result: VectorResult = {
          id: String(hit.id),
          score: hit.score,
          values: Array.from(hit.vector as number[]),
          text: String(hit.text ?? ''),
        };
        if (options.includeMetadata) result.metadata = isObject(hit.user_metadata) ? { ...hit.user_metadata } : {};
        return result;
      });
    } catch (error) {
      if (error instanceof CollectionGone) return undefined;
      throw error;
    }
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    const name = await this.existing(namespace);
    if (!name) return undefined;
    const chunking = chunkDatasource(
      datasource,
      { chunkSize: this.settings.chunkSize ?? 1000, chunkOverlap: this.settings.chunkOverlap ?? 200 },
      this.source,
    );
    const { texts } = chunking;
    const acl = datasource.acl.serialize();
    const metadataBytes = Buffer.byteLength(JSON.stringify(datasource.metadata));
    if (
      texts.some((text) => Buffer.byteLength(text) > TEXT_BYTES) ||
      Buffer.byteLength(acl) > TEXT_BYTES ||
      metadataBytes > TEXT_BYTES
    )
      throw new SreInvalidInputError(
        `a chunk, the ACL and the metadata must each fit Milvus' ${TEXT_BYTES} bytes: use a smaller chunkSize`,
        this.source,
      );
    // embedded before anything is written: a failure leaves the namespace as it was
    const vectors = await this.embedder.embed(texts, namespace.owner);
    return this.writing.run(`${name}\u0000${datasource.id}`, async () => {
      const generation = randomUUID();
      const chunks = texts.map((text, i) => ({
        id: randomUUID(),
        kind: CHUNK,
        datasourceId: datasource.id,
        generation,
        namespaceId: namespace.key,
        acl,
        text,
        user_metadata: datasource.metadata,
        smyth_metadata: { chunkIndex: i },
        vector: vectors[i],
      }));
      const createdAt = new Date();
      const { vectorIds, ...record } = storedDatasourceOf(
        namespace,
        datasource,
        chunking,
        chunks.map((chunk) => chunk.id),
        createdAt,
      );
      // the record keeps its date as text; vectorIds travel beside it
      const found: DatasourceRecord = {
        record: { ...record, createdAt: createdAt.toISOString() },
        vectorIds,
        generation,
      };
      const thisWrite = equals('generation', generation);
      try {
        await this.prepare(name);
        await this.insert(name, chunks);
        await this.records.write(name, found);
      } catch (error) {
        // nothing of this write may stay behind; the datasource it replaces is still whole
        await this.deleteWhere(name, thisWrite).catch(() => undefined);
        if (error instanceof CollectionGone) return undefined;
        throw error;
      }
      // the replaced datasource's rows, every earlier generation of them (W33)
      try {
        await this.deleteWhere(name, all(equals('datasourceId', datasource.id), differs('generation', generation)));
      } catch (error) {
        if (error instanceof CollectionGone) return undefined;
        throw error;
      }
      const result = toStored(found);
      if (datasource.returnFullVectorInfo)
        result.vectorInfo = chunks.map((chunk) => ({ id: chunk.id, values: [...chunk.vector], text: chunk.text }));
      return result;
    });
  }

  async readDatasource(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined> {
    const name = await this.existing(namespace);
    if (!name) return undefined;
    try {
      await this.prepare(name);
      const found = await this.records.read(name, datasourceId);
      return found && toStored(found);
    } catch (error) {
      if (error instanceof CollectionGone) return undefined;
      throw error;
    }
  }

  async listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]> {
    const name = await this.existing(namespace);
    if (!name) return [];
    try {
      await this.prepare(name);
      return (await this.records.list(name)).map(toStored);
    } catch (error) {
      if (error instanceof CollectionGone) return [];
      throw error;
    }
  }

  async dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean> {
    const name = await this.existing(namespace);
    if (!name) return false;
    return this.writing.run(`${name}\u0000${datasourceId}`, async () => {
      try {
        await this.prepare(name);
        if (!(await this.records.read(name, datasourceId))) return false;
        // vectors first: a failure after this leaves a record to delete again, never orphan vectors
        await this.deleteWhere(name, equals('datasourceId', datasourceId));
        await this.records.remove(name, datasourceId);
        return true;
      } catch (error) {
        if (error instanceof CollectionGone) return false;
        throw error;
      }
    });
  }

  // ------------------------------------------------------------------------------------------
  // mechanics

  private readonly redact = (text: string): string => redactWith(this.context, text);

  private collection(namespace: Pick<VectorNamespace, 'key'>): string {
    return collectionOf(this.prefix, namespace.key);
  }

  /** The namespace's collection when it exists and is this namespace's (never another key's). */
  private async existing(namespace: VectorNamespace): Promise<string | undefined> {
    const name = this.collection(namespace);
    const stored = await this.describe(name);
    return stored && stored.record.namespace === namespace.key ? name : undefined;
  }

  private async describe(name: string): Promise<StoredNamespace | undefined> {
    try {
      const described = await this.call(
        'describe a collection',
        (c) => c.describeCollection({ collection_name: name, cache: false }),
        (r) => r.status,
      );
      const property = described.properties?.find((pair) => pair.key === NAMESPACE_PROPERTY)?.value;
      if (typeof property !== 'string') return undefined;
      return JSON.parse(property) as StoredNamespace;
    } catch (error) {
      if (error instanceof CollectionGone) return undefined;
      throw error;
    }
  }

  /** Index and load, once per collection and process; a crash between create and load heals here. */
  private prepare(name: string): Promise<void> {
    let ready = this.ready.get(name);
    if (!ready) {
      ready = (async () => {
        const state = await this.call(
          'read the load state',
          (c) => c.getLoadState({ collection_name: name }),
          (r) => r.status,
        );
        if (String(state.state) === 'LoadStateLoaded') return;
        const index = await this.attempt('describe the index', (c) =>
          c.describeIndex({ collection_name: name, field_name: 'vector' }),
        );
        if (!isSuccess(index.status)) {
          if (isCollectionMissing(index.status)) throw new CollectionGone();
          await this.call(
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
        await this.call(
          'load a collection',
          (c) => c.loadCollectionAsync({ collection_name: name }),
          (r) => r,
        );
        const deadline = Date.now() + (this.settings.timeoutMs ?? 30_000);
        for (let wait = 25; ; wait = Math.min(wait * 2, 1000)) {
          const now = await this.call(
            'read the load state',
            (c) => c.getLoadState({ collection_name: name }),
            (r) => r.status,
          );
          if (String(now.state) === 'LoadStateLoaded') return;
          if (Date.now() + wait > deadline)
            throw new MilvusStatusError(
              'load a collection',
              { reason: `still ${String(now.state)} after ${this.settings.timeoutMs ?? 30_000} ms` },
              this.redact,
              this.source,
            );
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      })();
      this.ready.set(name, ready);
      ready.catch(() => this.ready.delete(name));
    }
    return ready;
  }

  /**
   * Runs a read; when the collection turns out not loaded (another process dropped and created it
   * again, or released it), loads it and runs the read once more.
   */
  private async loaded<T>(name: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof MilvusStatusError) || Number(error.status.code) !== NOT_LOADED) throw error;
      this.ready.delete(name);
      await this.prepare(name);
      return read();
    }
  }

  private async insert(name: string, rows: Record<string, unknown>[]): Promise<void> {
    const written = await this.call(
      'insert',
      (c) => c.insert({ collection_name: name, data: rows as RowData[] }),
      (r) => r.status,
    );
    if (written.err_index?.length || Number(written.insert_cnt) !== rows.length)
      throw new MilvusStatusError(
        'insert',
        { reason: `${written.err_index?.length ?? 0} of ${rows.length} rows were refused` },
        this.redact,
        this.source,
      );
  }

  private async deleteWhere(name: string, filter: MilvusExpression): Promise<void> {
    await this.call(
      'delete',
      (c) => c.delete({ collection_name: name, filter }),
      (r) => r.status,
    );
  }

  private rows(): MilvusRows {
    return {
      query: async (name, filter, fields) => {
        const found = await this.loaded(name, () =>
          this.call(
            'query',
            (c) => c.query({ collection_name: name, filter, output_fields: fields, limit: MAX_WINDOW }),
            (r) => r.status,
          ),
        );
        return found.data;
      },
      insert: (name, rows) => this.insert(name, rows),
      deleteWhere: (name, filter) => this.deleteWhere(name, filter),
      dimensions: this.embedder?.dimensions ?? 0,
    };
  }

  private expression(build: () => MilvusExpression): MilvusExpression {
    try {
      return build();
    } catch (error) {
      if (error instanceof MilvusExpressionError) throw new SreInvalidInputError(error.message, this.source);
      throw error;
    }
  }

  private requireSdk(): MilvusSdk {
    if (!this.sdk || !this.client) throw new CollectionGoneOrClosed(this.source);
    return this.sdk;
  }

  /** A call whose answer is returned as it is (the caller decides on its status). */
  private async attempt<T>(operation: string, run: (client: MilvusClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client) throw new CollectionGoneOrClosed(this.source);
    try {
      return await run(client);
    } catch (error) {
      throw wrapThrown(error, operation, this.redact, this.source);
    }
  }

  /** A call whose status must be success; a missing collection becomes `CollectionGone`. */
  private async call<T>(
    operation: string,
    run: (client: MilvusClient) => Promise<T>,
    statusOf: (response: T) => MilvusStatus | undefined,
  ): Promise<T> {
    const response = await this.attempt(operation, run);
    const status = statusOf(response);
    if (isSuccess(status)) return response;
    if (isCollectionMissing(status)) throw new CollectionGone();
    throw new MilvusStatusError(operation, status ?? {}, this.redact, this.source);
  }
}

/** Calls before `connect` (or after `disconnect`): a sentence, not a TypeError. */
class CollectionGoneOrClosed extends SreInvalidInputError {
  constructor(source: SreErrorSource) {
    super('the Milvus connector is not connected (call connect() first)', source);
  }
}

function toRecord(stored: StoredNamespace): NamespaceRecord {
  return { ...stored.record, acl: ACL.parse(stored.record.acl) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
