import { randomUUID } from 'node:crypto';
import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import { KeyedQueue } from '../../core/keyed-queue';
import { storedDatasourceOf } from '../datasource-record';
import type { Embedder } from '../embeddings/embedder';
import type { DatasourceInput, StoredDatasource, VectorNamespace } from '../vectordb.backend';
import { chunkDatasource } from './datasource-chunks';
import type { MilvusCollections } from './milvus-collections';
import { all, differs, equals } from './milvus-expr';
import { toStored, type DatasourceRecord, type DatasourceRecordStore, type MilvusRows } from './milvus-records';
import { CHUNK, TEXT_BYTES } from './milvus-schema';
import { CollectionGone, unlessGone } from './milvus-session';

/**
 * Datasources as chunk rows of their namespace's collection, embedded for the namespace's owner on
 * each write (W38), plus a record in the record store; a replacement is delete-after-insert.
 */
export class MilvusDatasources {
  /** Writes of one datasource, one after the other (a replacement is delete-after-insert). */
  private readonly writing = new KeyedQueue();

  constructor(
    private readonly collections: MilvusCollections,
    private readonly rows: MilvusRows,
    private readonly records: DatasourceRecordStore,
    private readonly embedder: Embedder,
    private readonly chunks: { chunkSize: number; chunkOverlap: number },
    private readonly source: SreErrorSource,
  ) {}

  async upsert(namespace: VectorNamespace, datasource: DatasourceInput): Promise<StoredDatasource | undefined> {
    const name = await this.collections.existing(namespace);
    if (!name) return undefined;
    const chunking = chunkDatasource(datasource, this.chunks, this.source);
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
        await this.collections.prepare(name);
        await this.rows.insert(name, chunks);
        await this.records.write(name, found);
      } catch (error) {
        // nothing of this write may stay behind; the datasource it replaces is still whole
        await this.rows.deleteWhere(name, thisWrite).catch(() => undefined);
        if (error instanceof CollectionGone) return undefined;
        throw error;
      }
      // the replaced datasource's rows, every earlier generation of them (W33)
      try {
        await this.rows.deleteWhere(
          name,
          all(equals('datasourceId', datasource.id), differs('generation', generation)),
        );
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

  async read(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined> {
    const name = await this.collections.existing(namespace);
    if (!name) return undefined;
    return unlessGone(undefined, async () => {
      await this.collections.prepare(name);
      const found = await this.records.read(name, datasourceId);
      return found && toStored(found);
    });
  }

  async list(namespace: VectorNamespace): Promise<StoredDatasource[]> {
    const name = await this.collections.existing(namespace);
    if (!name) return [];
    return unlessGone([], async () => {
      await this.collections.prepare(name);
      return (await this.records.list(name)).map(toStored);
    });
  }

  async drop(namespace: VectorNamespace, datasourceId: string): Promise<boolean> {
    const name = await this.collections.existing(namespace);
    if (!name) return false;
    return this.writing.run(`${name}\u0000${datasourceId}`, () =>
      unlessGone(false, async () => {
        await this.collections.prepare(name);
        if (!(await this.records.read(name, datasourceId))) return false;
        // vectors first: a failure after this leaves a record to delete again, never orphan vectors
        await this.rows.deleteWhere(name, equals('datasourceId', datasourceId));
        await this.records.remove(name, datasourceId);
        return true;
      }),
    );
  }
}
