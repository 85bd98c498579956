import type { DatasourceInput, StoredDatasource, VectorNamespace } from './vectordb.backend';

/**
 * The record of a datasource just written, in the original's shape (metadata as JSON, size in MB).
 * Every backend builds it the same way, so a datasource reads back alike whichever one stored it.
 */
export function storedDatasourceOf(
  namespace: VectorNamespace,
  datasource: DatasourceInput,
  chunking: { chunkSize: number; chunkOverlap: number },
  vectorIds: string[],
  createdAt = new Date(),
): StoredDatasource {
  return {
    id: datasource.id,
    namespaceId: namespace.key,
    name: datasource.label,
    text: datasource.text,
    metadata: JSON.stringify(datasource.metadata),
    vectorIds,
    candidateId: namespace.owner.id,
    candidateRole: namespace.owner.role,
    datasourceSizeMb: Buffer.byteLength(datasource.text) / 1024 / 1024,
    createdAt,
    chunkSize: chunking.chunkSize,
    chunkOverlap: chunking.chunkOverlap,
  };
}
