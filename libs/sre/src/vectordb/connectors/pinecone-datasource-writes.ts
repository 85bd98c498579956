import { randomUUID } from 'node:crypto';
import { SreInvalidInputError } from '../../core/errors';
import { storedDatasourceOf } from '../datasource-record';
import type { DatasourceInput, StoredDatasource, VectorNamespace } from '../vectordb.backend';
import { chunkDatasource } from './datasource-chunks';
import type { PineconeConnection, PineconeIndex, PineconeVectorRecord } from './pinecone-index';
import { flatUserFields, type PineconeVectorMetadata } from './pinecone-metadata';

/** Pinecone's limit of bytes per upsert request. */
const MAX_UPSERT_BYTES = 2 * 1024 * 1024;
/** Room for the request's envelope (`{"vectors":[...],"namespace":"..."}`) under the 2 MB. */
const UPSERT_BYTES_BUDGET = MAX_UPSERT_BYTES - 16 * 1024;
/** Pinecone's limit of ids per delete request. */
const MAX_IDS_PER_DELETE = 1000;

/**
 * Writes (or replaces) a datasource: the new generation's vectors, then its record, then every
 * vector of another generation by filter (W33). A write that fails, or whose namespace is dropped
 * meanwhile, deletes its own generation. The caller serialises writes of one datasource.
 */
export async function writeDatasource(
  connection: PineconeConnection,
  namespace: VectorNamespace,
  datasource: DatasourceInput,
): Promise<StoredDatasource | undefined> {
  const { records, settings, embedder, calls } = connection;
  const before = await records.readNamespace(namespace.key);
  if (!before) return undefined;
  const chunking = chunkDatasource(
    datasource,
    { chunkSize: settings.chunkSize ?? 2000, chunkOverlap: settings.chunkOverlap ?? 200 },
    connection.source,
  );
  const { texts } = chunking;
  // embedded before anything is written: a failure leaves the namespace as it was
  const vectors = await embedder.embed(texts, namespace.owner);
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
  const items: PineconeVectorRecord[] = texts.map((text, i) => ({
    id: `${datasource.id}_${randomUUID()}`,
    values: vectors[i],
    metadata: { ...base, text, chunkIndex: i } as PineconeVectorMetadata,
  }));
  const scoped = connection.scoped(namespace);
  const ownGeneration = { datasourceId: { $eq: datasource.id }, generation: { $eq: generation } };
  try {
    await upsertAll(connection, scoped, items);
    const after = await records.readNamespace(namespace.key);
    // dropped (and maybe created again) meanwhile: nothing of this write may stay
    if (after?.incarnation !== before.incarnation) {
      await calls.call('deleting vectors', () => scoped.deleteMany({ filter: ownGeneration }));
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
    await calls.call('deleting replaced vectors', () =>
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
      await calls
        .call('deleting vectors of a failed write', () => scoped.deleteMany({ filter: ownGeneration }))
        .catch((cleanup: unknown) =>
          connection.logger.warn(
            `could not delete the vectors of a failed write of datasource '${datasource.id}': ${calls.redact(cleanup)}`,
          ),
        );
    throw error;
  }
}

/** Deletes a datasource's recorded vectors, then any of its vectors the record does not name. */
export async function deleteDatasourceVectors(
  connection: PineconeConnection,
  namespace: VectorNamespace,
  datasourceId: string,
  vectorIds: readonly string[],
): Promise<void> {
  const { calls } = connection;
  const scoped = connection.scoped(namespace);
  for (let i = 0; i < vectorIds.length; i += MAX_IDS_PER_DELETE) {
    const ids = vectorIds.slice(i, i + MAX_IDS_PER_DELETE);
    await calls.call('deleting vectors', () => scoped.deleteMany({ ids }));
  }
  // vectors of writes that were cut short are not in the record
  await calls.call('deleting vectors', () => scoped.deleteMany({ filter: { datasourceId: { $eq: datasourceId } } }));
}

/** Upserts in requests of at most `upsertBatchSize` vectors and 2 MB, a few at a time. */
async function upsertAll(
  connection: PineconeConnection,
  scoped: PineconeIndex,
  items: PineconeVectorRecord[],
): Promise<void> {
  const { settings, calls } = connection;
  const limit = settings.upsertBatchSize ?? 100;
  const batches: PineconeVectorRecord[][] = [];
  let batch: PineconeVectorRecord[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (size > UPSERT_BYTES_BUDGET)
      throw new SreInvalidInputError(
        `a chunk of datasource '${item.metadata?.datasourceId}' with its metadata takes ${size} bytes, more than a Pinecone request carries`,
        connection.source,
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
      await calls.call('upserting vectors', () => scoped.upsert({ records }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.upsertConcurrency ?? 4, batches.length) }, worker));
}
