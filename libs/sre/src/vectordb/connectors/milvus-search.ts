import { SreInvalidInputError } from '../../core/errors';
import type { Embedder } from '../embeddings/embedder';
import type { VectorNamespace, VectorResult, VectorSearchOptions } from '../vectordb.backend';
import type { MilvusCollections } from './milvus-collections';
import { all, equals, metadataFilter, MilvusExpressionError, type MilvusExpression } from './milvus-expr';
import { CHUNK, MAX_WINDOW } from './milvus-schema';
import { unlessGone, type MilvusSession } from './milvus-session';

const CHUNK_ROW_FIELDS = ['text', 'vector'];

/** Cosine search over a namespace's chunk rows (record rows are filtered out by `kind`). */
export class MilvusSearch {
  constructor(
    private readonly session: MilvusSession,
    private readonly collections: MilvusCollections,
    private readonly embedder: Embedder,
  ) {}

  async search(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined> {
    const name = await this.collections.existing(namespace);
    if (!name) return undefined;
    const vector = typeof query === 'string' ? (await this.embedder.embed([query], namespace.owner))[0] : query;
    if (vector.length !== this.embedder.dimensions)
      throw new SreInvalidInputError(
        `a vector of ${vector.length} dimensions does not fit this namespace's ${this.embedder.dimensions}`,
        this.session.source,
      );
    const filter = this.expression(() => {
      const byMetadata = metadataFilter('user_metadata', options.filter);
      return byMetadata ? all(equals('kind', CHUNK), byMetadata) : equals('kind', CHUNK);
    });
    return unlessGone(undefined, async () => {
      await this.collections.prepare(name);
      const found = await this.collections.loaded(name, () =>
        this.session.call(
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
    });
  }

  /** A filter the user's input cannot build is their mistake, not a backend failure. */
  private expression(build: () => MilvusExpression): MilvusExpression {
    try {
      return build();
    } catch (error) {
      if (error instanceof MilvusExpressionError) throw new SreInvalidInputError(error.message, this.session.source);
      throw error;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
