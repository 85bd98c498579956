import { AccessCandidate } from '../../security/access-candidate';
import type { NKVService } from '../../nkv/nkv.service';
import type { StoredDatasource } from '../vectordb.backend';
import { all, equals, type MilvusExpression } from './milvus-expr';
import { CHUNK, MAX_WINDOW, RECORD, RECORD_PART_CHARS, placeholderVector, splitText } from './milvus-schema';

/** A datasource record as a store keeps it: the stored form minus `vectorInfo`, dates as ISO text. */
export interface DatasourceRecord {
  record: Omit<StoredDatasource, 'vectorInfo' | 'createdAt' | 'vectorIds'> & { createdAt?: string };
  vectorIds: string[];
  generation: string;
}

/** The row operations of one collection the stores need (each call status-checked by the connector). */
export interface MilvusRows {
  query(collection: string, expr: MilvusExpression, fields: string[]): Promise<Record<string, unknown>[]>;
  insert(collection: string, rows: Record<string, unknown>[]): Promise<void>;
  deleteWhere(collection: string, expr: MilvusExpression): Promise<void>;
  readonly dimensions: number;
}

/** Where the datasource records of a namespace live. */
export interface DatasourceRecordStore {
  write(collection: string, record: DatasourceRecord): Promise<void>;
  read(collection: string, datasourceId: string): Promise<DatasourceRecord | undefined>;
  list(collection: string): Promise<DatasourceRecord[]>;
  /** Removes the record; the connector removes the rows of every generation itself. */
  remove(collection: string, datasourceId: string): Promise<void>;
  dropAll(collection: string): Promise<void>;
}

export function toStored(found: DatasourceRecord): StoredDatasource {
  const { createdAt, ...rest } = found.record;
  return { ...rest, vectorIds: [...found.vectorIds], ...(createdAt ? { createdAt: new Date(createdAt) } : {}) };
}

/**
 * Records in NKV (`vectorDB:milvus:namespaces:<collection>:datasources`, key = datasource id), as
 * the original keeps them, under one team scope of the connector's own: the records belong to the
 * namespace, not to whoever happens to call, so they are found whichever member writes.
 */
export class NKVRecordStore implements DatasourceRecordStore {
  constructor(
    private readonly nkv: NKVService,
    private readonly team: string,
  ) {}

  private scope() {
    return this.nkv.requester(AccessCandidate.team(this.team));
  }

  private static namespace(collection: string): string {
    return `vectorDB:milvus:namespaces:${collection}:datasources`;
  }

  async write(collection: string, record: DatasourceRecord): Promise<void> {
    await this.scope().set(NKVRecordStore.namespace(collection), record.record.id, record as never);
  }

  async read(collection: string, datasourceId: string): Promise<DatasourceRecord | undefined> {
    return this.scope().get<never>(NKVRecordStore.namespace(collection), datasourceId) as Promise<
      DatasourceRecord | undefined
    >;
  }

  async list(collection: string): Promise<DatasourceRecord[]> {
    const entries = await this.scope().list(NKVRecordStore.namespace(collection));
    return entries.map((entry) => entry.data as unknown as DatasourceRecord);
  }

  async remove(collection: string, datasourceId: string): Promise<void> {
    await this.scope().delete(NKVRecordStore.namespace(collection), datasourceId);
  }

  async dropAll(collection: string): Promise<void> {
    await this.scope().deleteAll(NKVRecordStore.namespace(collection));
  }
}

interface RecordPart {
  id: string;
  datasourceId: string;
  generation: string;
  text: string;
  smyth_metadata: { part: number; parts: number; record: DatasourceRecord['record']; chunks: number };
}

/**
 * Records inside the collection itself, when no NKV is configured: one or more `record` rows per
 * datasource (the text split in parts that fit a VarChar), tagged with the datasource's
 * generation like its chunks. Searches never see them (they filter on `kind == "chunk"`).
 */
export class CollectionRecordStore implements DatasourceRecordStore {
  constructor(private readonly rows: MilvusRows) {}

  async write(collection: string, found: DatasourceRecord): Promise<void> {
    const { text = '', ...record } = found.record;
    const parts = splitText(text, RECORD_PART_CHARS);
    const vector = placeholderVector(this.rows.dimensions);
    await this.rows.insert(
      collection,
      parts.map((part, i) => ({
        id: `record_${found.generation}_${i}`,
        kind: RECORD,
        datasourceId: record.id,
        generation: found.generation,
        namespaceId: record.namespaceId,
        acl: '',
        text: part,
        user_metadata: {},
        smyth_metadata: { part: i, parts: parts.length, record, chunks: found.vectorIds.length },
        vector,
      })),
    );
  }

  async read(collection: string, datasourceId: string): Promise<DatasourceRecord | undefined> {
    const rows = await this.recordRows(collection, all(equals('kind', RECORD), equals('datasourceId', datasourceId)));
    const [found] = this.assemble(rows);
    if (!found) return undefined;
    found.vectorIds = await this.vectorIds(collection, datasourceId, found.generation);
    return found;
  }

  async list(collection: string): Promise<DatasourceRecord[]> {
    const records = this.assemble(await this.recordRows(collection, equals('kind', RECORD)));
    if (records.length === 0) return [];
    const chunks = await this.window(collection, equals('kind', CHUNK), ['id', 'datasourceId', 'generation']);
    const ids = new Map<string, string[]>();
    for (const chunk of chunks) {
      const key = `${String(chunk.datasourceId)}\u0000${String(chunk.generation)}`;
      ids.set(key, [...(ids.get(key) ?? []), String(chunk.id)]);
    }
    for (const record of records) record.vectorIds = ids.get(`${record.record.id}\u0000${record.generation}`) ?? [];
    return records;
  }

  async remove(): Promise<void> {
    // the record rows go with the datasource's other rows (the connector deletes by datasource id)
  }

  async dropAll(): Promise<void> {
    // the rows go with the collection
  }

  private recordRows(collection: string, expr: MilvusExpression) {
    return this.window(collection, expr, ['id', 'datasourceId', 'generation', 'text', 'smyth_metadata']) as Promise<
      RecordPart[] & Record<string, unknown>[]
    >;
  }

  private async vectorIds(collection: string, datasourceId: string, generation: string): Promise<string[]> {
    const rows = await this.window(
      collection,
      all(equals('kind', CHUNK), equals('datasourceId', datasourceId), equals('generation', generation)),
      ['id'],
    );
    return rows.map((row) => String(row.id));
  }

  /** A query that must see every match: Milvus answers at most one window, so more is an error, not a silent cut. */
  private async window(collection: string, expr: MilvusExpression, fields: string[]) {
    const rows = await this.rows.query(collection, expr, fields);
    if (rows.length >= MAX_WINDOW)
      throw new Error(`more than ${MAX_WINDOW - 1} rows match; configure NKV to keep the datasource records`);
    return rows;
  }

  /**
   * One record per datasource: the complete generation written last (a replacement in progress,
   * or one cut short, leaves two generations for a moment; the older complete one stands until
   * the newer one is whole).
   */
  private assemble(rows: RecordPart[]): DatasourceRecord[] {
    const generations = new Map<string, RecordPart[]>();
    for (const row of rows) generations.set(row.generation, [...(generations.get(row.generation) ?? []), row]);
    const best = new Map<string, DatasourceRecord>();
    for (const [generation, parts] of generations) {
      const { record, parts: count, chunks } = parts[0].smyth_metadata;
      if (parts.length !== count) continue;
      const text = [...parts]
        .sort((a, b) => a.smyth_metadata.part - b.smyth_metadata.part)
        .map((part) => part.text)
        .join('');
      const candidate: DatasourceRecord = {
        record: { ...record, text },
        vectorIds: new Array<string>(chunks),
        generation,
      };
      const current = best.get(record.id);
      if (!current || (current.record.createdAt ?? '') < (record.createdAt ?? '')) best.set(record.id, candidate);
    }
    return [...best.values()];
  }
}
