import type { RowData } from '@zilliz/milvus2-sdk-node';
import { MilvusStatusError } from './milvus-client';
import type { MilvusCollections } from './milvus-collections';
import type { MilvusRows } from './milvus-records';
import { MAX_WINDOW } from './milvus-schema';
import type { MilvusSession } from './milvus-session';

/** The row operations of the collections, each status-checked; queries reload a released collection. */
export function createMilvusRows(
  session: MilvusSession,
  collections: MilvusCollections,
  dimensions: number,
): MilvusRows {
  return {
    query: async (name, filter, fields) => {
      const found = await collections.loaded(name, () =>
        session.call(
          'query',
          (c) => c.query({ collection_name: name, filter, output_fields: fields, limit: MAX_WINDOW }),
          (r) => r.status,
        ),
      );
      return found.data;
    },
    insert: async (name, rows) => {
      const written = await session.call(
        'insert',
        (c) => c.insert({ collection_name: name, data: rows as RowData[] }),
        (r) => r.status,
      );
      if (written.err_index?.length || Number(written.insert_cnt) !== rows.length)
        throw new MilvusStatusError(
          'insert',
          { reason: `${written.err_index?.length ?? 0} of ${rows.length} rows were refused` },
          session.redact,
          session.source,
        );
    },
    deleteWhere: async (name, filter) => {
      await session.call(
        'delete',
        (c) => c.delete({ collection_name: name, filter }),
        (r) => r.status,
      );
    },
    dimensions,
  };
}
