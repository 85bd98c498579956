import { randomUUID } from 'node:crypto';
import { storedDatasourceOf } from '../datasource-record';
import { isEmptyFilter, matchesMetadataFilter } from '../metadata-filter';
import type { NamespaceTable } from '../namespace-table';
import type {
  DatasourceInput,
  StoredDatasource,
  VectorNamespace,
  VectorResult,
  VectorSearchOptions,
} from '../vectordb.backend';
import type { DatasourceChunks } from './datasource-chunks';
import type { VectorRows } from './ramvec-rows';
import type { SnapshotNamespaceInput } from './ramvec-snapshot';

/** What a row carries besides its numbers. */
export interface Chunk {
  id: string;
  datasourceId: string;
  text: string;
}

/** One RAMVec namespace: its rows, and its datasources' records. */
export interface Namespace {
  rows: VectorRows<Chunk>;
  /** Records by datasource id, with the user metadata as an object for search results. */
  datasources: Map<string, { stored: StoredDatasource; metadata: Record<string, unknown> }>;
}

/** The rows a search may answer with: those whose datasource's metadata passes the filter. */
export function chunkFilter(
  { datasources }: Namespace,
  filter: Required<VectorSearchOptions>['filter'],
): ((chunk: Chunk) => boolean) | undefined {
  return isEmptyFilter(filter)
    ? undefined
    : (chunk: Chunk) => {
        const metadata = datasources.get(chunk.datasourceId)?.metadata;
        return metadata !== undefined && matchesMetadataFilter(metadata, filter);
      };
}

/** A nearest row as a search result, with its datasource's metadata if asked for. */
export function resultOf(
  { datasources }: Namespace,
  { score, payload: chunk, values }: { score: number; payload: Chunk; values: number[] },
  includeMetadata: boolean,
): VectorResult {
  const result: VectorResult = { id: chunk.id, score, values, text: chunk.text };
  if (includeMetadata) result.metadata = { ...datasources.get(chunk.datasourceId)?.metadata };
  return result;
}

/**
 * Puts a datasource's embedded chunks into the namespace; the same id again replaces the
 * datasource whole (its old vectors go, W33). Returns a copy of the record to answer with.
 */
export function storeDatasource(
  found: Namespace,
  namespace: VectorNamespace,
  datasource: DatasourceInput,
  chunking: DatasourceChunks,
  vectors: number[][],
): StoredDatasource {
  const chunks = chunking.texts.map((text, i) => ({
    id: `${datasource.id}_${randomUUID()}`,
    datasourceId: datasource.id,
    text,
    i,
  }));
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

/** Removes a datasource and its rows; false when the namespace holds no such datasource. */
export function removeDatasource(found: Namespace | undefined, datasourceId: string): boolean {
  if (!found?.datasources.delete(datasourceId)) return false;
  found.rows.removeWhere((chunk) => chunk.datasourceId === datasourceId);
  return true;
}

/** Every namespace as the snapshot takes it. */
export function snapshotInputs(namespaces: NamespaceTable<Namespace>): SnapshotNamespaceInput[] {
  return namespaces.keys().map((key) => {
    const { rows, datasources } = namespaces.slot(key)!;
    const record = namespaces.read(key)!;
    return {
      key,
      record: { ...record, acl: record.acl.serialize() },
      dimensions: rows.dimensions,
      datasources: [...datasources.values()],
      rows: Array.from({ length: rows.size }, (_, row) => rows.payload(row)),
      copyValues: (row, into, offset) => rows.copyValues(row, into, offset),
    };
  });
}

export function copyDatasource(stored: StoredDatasource): StoredDatasource {
  return { ...stored, vectorIds: [...stored.vectorIds], createdAt: stored.createdAt && new Date(stored.createdAt) };
}
