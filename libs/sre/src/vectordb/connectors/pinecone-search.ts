import { SreInvalidInputError } from '../../core/errors';
import type { VectorNamespace, VectorResult, VectorSearchOptions } from '../vectordb.backend';
import type { PineconeConnection, PineconeVectorRecord } from './pinecone-index';
import { pineconeFilter, userMetadataOf } from './pinecone-metadata';

/** Pinecone's limit of matches answered with their values and metadata. */
const MAX_TOP_K_WITH_VALUES = 1000;
/** Ids per fetch: they travel in the query string. */
const IDS_PER_FETCH = 100;

/** A search of one namespace; `undefined` when the namespace does not exist (or is dropped while embedding). */
export async function searchPinecone(
  connection: PineconeConnection,
  namespace: VectorNamespace,
  query: string | number[],
  options: Required<VectorSearchOptions>,
): Promise<VectorResult[] | undefined> {
  const { records, embedder, calls } = connection;
  if (!(await records.readNamespace(namespace.key))) return undefined;
  let vector = query;
  if (typeof vector === 'string') {
    vector = (await embedder.embed([vector], namespace.owner))[0];
    if (!(await records.readNamespace(namespace.key))) return undefined;
  }
  if (vector.length !== embedder.dimensions)
    throw new SreInvalidInputError(
      `a vector of ${vector.length} dimensions does not fit this index's ${embedder.dimensions}`,
      connection.source,
    );
  // cosine with a zero vector is 0 for every vector: any topK of them, scored 0 (Pinecone may refuse the zero vector)
  const zero = vector.every((value) => value === 0);
  const probe = zero ? vector.map((_, i) => (i === vector.length - 1 ? 1 : 0)) : vector;
  const scoped = connection.scoped(namespace);
  const filter = pineconeFilter(options.filter);
  const withData = options.topK <= MAX_TOP_K_WITH_VALUES;
  const answer = await calls.call('searching', () =>
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
    const found = new Map<string, PineconeVectorRecord>();
    for (let i = 0; i < hits.length; i += IDS_PER_FETCH) {
      const ids = hits.slice(i, i + IDS_PER_FETCH).map((hit) => hit.id);
      const fetched = await calls.call('fetching vectors', () => scoped.fetch({ ids }));
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
