import { Logger } from '@nestjs/common';
import { createConnectorContext, sourceOf, type ConnectorContext } from '../../core/backend';
import { codeOf } from '../../core/fs/fs-util';
import { SreBackendError, SreConfigError, type SreErrorSource } from '../../core/errors';
import { ACL } from '../../security/acl';
import type { SecretReader } from '../../llm/llm-credentials';
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
import { NamespaceTable } from '../namespace-table';
import { chunkDatasource } from './datasource-chunks';
import { defaultWorkers, RAMVecPool } from './ramvec-pool';
import { VectorRows } from './ramvec-rows';
import {
  chunkFilter,
  copyDatasource,
  removeDatasource,
  resultOf,
  snapshotInputs,
  storeDatasource,
  type Chunk,
  type Namespace,
} from './ramvec-namespace';
import { RAMVecSettings } from './ramvec-settings';
import {
  captureSnapshot,
  datasourceOfSaved,
  SnapshotCorruptError,
  SnapshotFile,
  type SnapshotNamespaceMeta,
} from './ramvec-snapshot';

export { RAMVecSnapshotSettings } from './ramvec-snapshot';
export { RAMVecSettings } from './ramvec-settings';

/**
 * Vectors in this process' memory: one `VectorRows` per namespace (fp32, packed, exact cosine
 * search), private to this instance (the original's maps were static, shared by every instance),
 * lost at exit unless `snapshot` names a file to keep them in (see `ramvec-snapshot.ts`). Texts
 * are chunked with the original's splitter and embedded for the namespace's owner on each call,
 * so one team's API key never embeds another's texts (W38).
 */
export class RAMVecConnector implements VectorDBBackend {
  static readonly connectorName = 'RAMVec';
  static readonly settingsClass = RAMVecSettings;

  private readonly namespaces = new NamespaceTable<Namespace>();
  private readonly embedder: Embedder;
  private readonly source: SreErrorSource;
  private readonly pool?: RAMVecPool;
  private readonly logger = new Logger('VectorDB(RAMVec)');
  private readonly snapshot?: SnapshotFile;
  /** Bumped by every change; the snapshot is written when it differs from what the last write saw. */
  private changes = 0;
  private savedChanges = 0;
  private saving: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  /** Loaded already: a second connect must not replace what was written since with the file's state. */
  private loaded = false;

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
    if (workers > 0) this.pool = new RAMVecPool(workers, this.source, settings.workerReadyMs);
    this.embedder = embedder ?? createEmbedder(settings.embeddings, context.deps.vault, this.source);
    if (settings.snapshot?.path) this.snapshot = new SnapshotFile(settings.snapshot.path);
  }

  async connect(): Promise<void> {
    if (!this.snapshot || this.loaded) return;
    await this.snapshot.removeLeftovers();
    await this.loadSnapshot(this.snapshot);
    this.loaded = true;
    const seconds = this.settings.snapshot?.intervalSeconds ?? 60;
    if (seconds > 0) {
      this.timer = setInterval(() => {
        this.saveSnapshot().catch((error: unknown) => this.logger.error((error as Error).message));
      }, seconds * 1000);
      // a pending save must not keep the process alive: disconnect writes the last one
      this.timer.unref();
    }
  }

  async disconnect(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.loaded = false;
    try {
      await this.saveSnapshot();
    } finally {
      this.namespaces.all().forEach((namespace) => namespace.rows.dispose());
      this.namespaces.clear();
      this.changes = this.savedChanges = 0;
      await this.pool?.close();
    }
  }

  /**
   * Writes the snapshot if anything changed since the last write; one write at a time (a call
   * during a write waits for it, then writes what changed meanwhile). No-op without `snapshot`.
   */
  async saveSnapshot(): Promise<void> {
    const next = this.saving.then(() => this.writeIfChanged());
    this.saving = next.catch(() => undefined);
    return next;
  }

  private async writeIfChanged(): Promise<void> {
    const file = this.snapshot;
    if (!file || this.changes === this.savedChanges) return;
    const changes = this.changes;
    const captured = captureSnapshot(snapshotInputs(this.namespaces), this.settings.quantization ?? 'none');
    try {
      await file.write(captured);
    } catch (error) {
      throw new SreBackendError(`could not write the snapshot ${file.path}: ${codeOf(error)}`, this.source, {
        cause: error,
      });
    }
    this.savedChanges = changes;
  }

  private async loadSnapshot(file: SnapshotFile): Promise<void> {
    const made: VectorRows<Chunk>[] = [];
    let loaded: SnapshotNamespaceMeta[] | undefined;
    try {
      loaded = await file.read((ns) => {
        if (ns.dimensions !== this.embedder.dimensions)
          throw new SreConfigError([
            `VectorDB(RAMVec).settings.snapshot.path: ${file.path} holds namespace '${ns.key}' of ` +
              `${ns.dimensions} dimensions, but the embeddings give ${this.embedder.dimensions}`,
          ]);
        const rows = this.makeRows(ns.count);
        made.push(rows);
        return (vector, row) =>
          rows.add(vector, { id: ns.ids[row], datasourceId: ns.datasourceIds[row], text: ns.texts[row] });
      });
    } catch (error) {
      made.forEach((rows) => rows.dispose());
      if (!(error instanceof SnapshotCorruptError)) {
        if (error instanceof SreConfigError) throw error;
        throw new SreBackendError(`could not read the snapshot ${file.path}: ${codeOf(error)}`, this.source, {
          cause: error,
        });
      }
      const message = `the snapshot ${file.path} is corrupt: ${error.reason}`;
      if ((this.settings.snapshot?.onCorrupt ?? 'fail') === 'fail')
        throw new SreBackendError(`${message} (snapshot.onCorrupt: 'ignore' starts empty instead)`, this.source);
      this.logger.warn(`${message}; starting empty (snapshot.onCorrupt: 'ignore'), the next save replaces it`);
      return;
    }
    if (!loaded) return;
    loaded.forEach((ns, i) => {
      this.namespaces.slot(ns.key)?.rows.dispose();
      this.namespaces.drop(ns.key);
      this.namespaces.create(
        ns.key,
        { ...ns.record, acl: ACL.parse(ns.record.acl) },
        {
          rows: made[i],
          datasources: new Map(
            ns.datasources.map(({ stored, metadata }) => [stored.id, { stored: datasourceOfSaved(stored), metadata }]),
          ),
        },
      );
    });
    this.logger.log(`loaded ${loaded.length} namespaces, ${this.size} vectors from ${file.path}`);
  }

  private makeRows(capacity?: number): VectorRows<Chunk> {
    return new VectorRows<Chunk>(this.embedder.dimensions, this.source, {
      pool: this.pool,
      workerThreshold: this.settings.workerThreshold,
      quantization: this.settings.quantization,
      capacity,
    });
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
    const rows = this.makeRows();
    const created = this.namespaces.create(namespace.key, record, { rows, datasources: new Map() });
    if (created) this.changes++;
    else rows.dispose();
    return created;
  }

  async dropNamespace(namespace: VectorNamespace): Promise<void> {
    const found = this.namespaces.slot(namespace.key);
    if (!found) return;
    found.rows.dispose();
    this.namespaces.drop(namespace.key);
    this.changes++;
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
    const hits = await found.rows.nearest(vector, options.topK, chunkFilter(found, options.filter));
    return hits.map((hit) => resultOf(found, hit, options.includeMetadata));
  }

  async upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource | undefined> {
    if (!this.namespaces.slot(namespace.key)) return undefined;
    const defaults = { chunkSize: this.settings.chunkSize ?? 512, chunkOverlap: this.settings.chunkOverlap ?? 100 };
    const chunking = chunkDatasource(datasource, defaults, this.source);
    // embedded before anything changes: a failure leaves the namespace as it was
    const vectors = await this.embedder.embed(chunking.texts, namespace.owner);
    const found = this.namespaces.slot(namespace.key);
    if (!found) return undefined;
    const result = storeDatasource(found, namespace, datasource, chunking, vectors);
    this.changes++;
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
    if (!removeDatasource(this.namespaces.slot(namespace.key), datasourceId)) return false;
    this.changes++;
    return true;
  }
}
