import type { SreBackend } from '../core/backend';
import type { AccessCandidate } from '../security/access-candidate';
import type { ACL } from '../security/acl';

/** A text to chunk, embed and store as one datasource. */
export interface DatasourceDto {
  text: string;
  /** Default: a random UUID. Letters, digits and `. _ : -` only, so that no backend filter can be altered by it (W35). */
  id?: string;
  /** Default `Untitled`. */
  label?: string;
  chunkSize?: number;
  chunkOverlap?: number;
  /** User metadata, returned with search results; must be JSON-serialisable. */
  metadata?: Record<string, unknown>;
  /** Return every stored vector in `vectorInfo`. */
  returnFullVectorInfo?: boolean;
}

/** A datasource as the service hands it to a backend: defaults filled, everything validated. */
export interface DatasourceInput {
  id: string;
  label: string;
  text: string;
  chunkSize?: number;
  chunkOverlap?: number;
  metadata: Record<string, unknown>;
  returnFullVectorInfo: boolean;
  /** The ACL each vector carries (compact form in the vector's metadata, as the original stores it). */
  acl: ACL;
}

export interface VectorResult {
  id: string;
  score?: number;
  values: number[];
  text: string;
  /** The user metadata of the datasource (`{}` when none); present only when `includeMetadata` was asked. */
  metadata?: Record<string, unknown>;
}

export interface StoredDatasource {
  id: string;
  /** Storage name of the namespace. */
  namespaceId: string;
  name: string;
  text?: string;
  /** JSON of the user metadata. */
  metadata?: string;
  vectorIds: string[];
  /** Only when `returnFullVectorInfo` was asked. */
  vectorInfo?: VectorResult[];
  candidateId: string;
  candidateRole: string;
  datasourceSizeMb?: number;
  createdAt?: Date;
  chunkSize?: number;
  chunkOverlap?: number;
}

/** A value a metadata filter compares with: top-level scalar fields of a datasource's user metadata. */
export type VectorFilterValue = string | number | boolean;

/**
 * Which datasources a search looks in, by their user metadata: every named field must equal the
 * value (or be one of `$in`), compared by JSON type and value (`1` never matches `'1'`); a field the
 * metadata lacks, or holds as an object or array, never matches. `{}` matches everything. Field
 * names are 1-64 of `A-Z a-z 0-9 _` (so no backend's filter syntax can be altered by them, W35),
 * at most 16 fields, at most 100 values per `$in`; the service refuses anything else.
 */
export type VectorMetadataFilter = Record<string, VectorFilterValue | { $in: VectorFilterValue[] }>;

export interface VectorSearchOptions {
  /** Exactly this many results (fewer only when the namespace holds fewer); 1 to 10000, default 10. */
  topK?: number;
  includeMetadata?: boolean;
  /** Only vectors of datasources whose metadata matches (default `{}`: all). */
  filter?: VectorMetadataFilter;
}

/** A namespace of one owner, as the service hands it to a backend. */
export interface VectorNamespace {
  /** The caller's name, normalised: trimmed, whitespace → `_`, lower case. */
  readonly name: string;
  /**
   * The storage name, unique per owner and name: `<r>_<ownerId>_<name>` (candidate ids hold no `_`).
   * A backend whose naming rules cannot hold it maps it injectively: a hash part is at least 128 bits
   * (W37), never the original's 32.
   */
  readonly key: string;
  /** Whose namespace it is; embedding credentials are resolved for this candidate on each call (W38). */
  readonly owner: AccessCandidate;
}

export interface NamespaceRecord {
  /** The storage name (`VectorNamespace.key`). */
  namespace: string;
  displayName: string;
  candidateId: string;
  candidateRole: string;
  metadata: Record<string, unknown>;
  acl: ACL;
}

export type VectorNamespaceInfo = Omit<NamespaceRecord, 'acl'>;

/**
 * What a VectorDB connector implements: namespaces, datasources and the nearest-vector search, on
 * names and ids the service has validated and for owners it has resolved; the service reads the
 * namespace's ACL here and decides. A backend chunks and embeds (its chunker, its embedder) and
 * never logs credentials (W36); datasource ids are safe in a filter, but it passes them as
 * parameters where it can (W35). A namespace that does not exist (or was deleted meanwhile) is
 * answered with `undefined` / `[]` / `false`, never by creating it.
 */
export interface VectorDBBackend extends SreBackend {
  /** The namespace's record (with its ACL), or `undefined`. */
  readNamespace(key: string): Promise<NamespaceRecord | undefined>;
  /** The records of the namespaces `owner` created (same role and id), in any order. */
  listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]>;
  /**
   * Creates the namespace with `record`, empty, iff it does not exist: a conditional write whose
   * expected version is "absent". `false` when it exists already, which is then left untouched (its
   * record, datasources and vectors): the service reads it again and decides on what is there.
   */
  createNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<boolean>;
  /** Removes record, datasources, vectors and ACL of exactly this namespace; a missing one is a no-op. */
  dropNamespace(namespace: VectorNamespace): Promise<void>;
  /**
   * The nearest vectors, `undefined` when the namespace does not exist. A text query is embedded
   * for the owner; a vector of the wrong dimension throws `SreInvalidInputError`. At least the
   * `topK` best; may return more, or unsorted: the service sorts and cuts. `metadata` is the
   * datasource's user metadata when `includeMetadata` is asked.
   */
  searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[] | undefined>;
  /**
   * Chunks, embeds and stores the datasource and its record, and returns the record with
   * `vectorInfo`. An existing datasource with the same id is replaced whole: its vectors are
   * removed, not left behind (W33). A failure leaves neither vectors nor record of the new
   * datasource. `undefined` (and nothing stored) when the namespace does not exist.
   */
  upsertDatasource(namespace: VectorNamespace, datasource: DatasourceInput): Promise<StoredDatasource | undefined>;
  /** `undefined` when the namespace or the datasource does not exist. */
  readDatasource(namespace: VectorNamespace, datasourceId: string): Promise<StoredDatasource | undefined>;
  /** `[]` when the namespace does not exist. */
  listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]>;
  /** Removes the datasource's vectors and record; `false` when it (or its namespace) did not exist. */
  dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean>;
}

/** Every operation of `VectorDBBackend` (a custom connector lacking one is refused at boot). */
export const VECTORDB_OPERATIONS = [
  'readNamespace',
  'listNamespaceRecords',
  'createNamespace',
  'dropNamespace',
  'searchVectors',
  'upsertDatasource',
  'readDatasource',
  'listDatasourceRecords',
  'dropDatasource',
] as const;
