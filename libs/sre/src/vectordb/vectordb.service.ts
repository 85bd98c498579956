import { randomUUID } from 'node:crypto';
import { SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate, Role } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { READ, SecureConnector, WRITE } from '../security/secure-connector';

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

/** A datasource as the base hands it to a backend: defaults filled, everything validated. */
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

export interface VectorSearchOptions {
  /** Exactly this many results (fewer only when the namespace holds fewer); 1 to 10000, default 10. */
  topK?: number;
  includeMetadata?: boolean;
}

/** A namespace of one owner, as the base hands it to a backend. */
export interface VectorNamespace {
  /** The caller's name, normalised: trimmed, whitespace → `_`, lower case. */
  readonly name: string;
  /** The storage name, unique per owner and name (`<r>_<ownerId>_<name>` unless the connector maps it). */
  readonly key: string;
  /** Whose namespace it is; embedding credentials are resolved for this candidate (W38). */
  readonly owner: AccessCandidate;
}

export interface NamespaceRecord {
  namespace: string;
  displayName: string;
  candidateId: string;
  candidateRole: string;
  metadata: Record<string, unknown>;
  acl: ACL;
}

export type VectorNamespaceInfo = Omit<NamespaceRecord, 'acl'>;

/**
 * The operations of one candidate. Namespaces are per caller: the name a candidate gives is stored
 * under its own storage name, so two callers using the same name never meet (team-shared
 * namespaces are used through a team requester, as the original's RAG components do).
 */
export interface VectorDBRequester {
  readonly candidate: AccessCandidate;
  /**
   * The `topK` nearest vectors to a text (embedded for this caller) or a vector, by descending score.
   * The namespace must exist. Needs read.
   */
  search(namespace: string, query: string | number[], options?: VectorSearchOptions): Promise<VectorResult[]>;
  /**
   * Chunks, embeds and stores a text. Re-using an id replaces the datasource: its old vectors are
   * removed first (W33). The namespace must exist. Needs write.
   */
  createDatasource(namespace: string, datasource: DatasourceDto): Promise<StoredDatasource>;
  /** Removes a datasource and its vectors; an unknown id throws `SreNotFoundError`. Needs write. */
  deleteDatasource(namespace: string, datasourceId: string): Promise<void>;
  /** `[]` when the namespace does not exist. Needs read. */
  listDatasources(namespace: string): Promise<StoredDatasource[]>;
  /** `undefined` when the namespace or the datasource does not exist. Needs read. */
  getDatasource(namespace: string, datasourceId: string): Promise<StoredDatasource | undefined>;
  /** Creates the namespace (the caller owns it); an existing one is left as it is. Needs write. */
  createNamespace(namespace: string, metadata?: Record<string, unknown>): Promise<void>;
  /** Removes the namespace with its vectors, datasources and ACL; a missing one is a no-op. Needs write. */
  deleteNamespace(namespace: string): Promise<void>;
  namespaceExists(namespace: string): Promise<boolean>;
  /** The namespaces this caller owns, and only those (W06). */
  listNamespaces(): Promise<VectorNamespaceInfo[]>;
}

const MAX_NAME_BYTES = 200;
const MAX_TOP_K = 10_000;
const DATASOURCE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ROLE_PREFIX: Record<Role, string> = { user: 'users', agent: 'agents', team: 'teams', public: 'public' };
const PREFIX_ROLE: Record<string, Role> = { users: 'user', agents: 'agent', teams: 'team', public: 'public' };
const ROLE_INITIAL: Record<Role, string> = { user: 'u', agent: 'a', team: 't', public: 'p' };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Vector search over embedded texts: the contract, the injection token, and the base class of every
 * VectorDB connector. Naming, validation, access and the result rules (exact `topK`, descending
 * scores, metadata only on request) live here, the same for every backend.
 */
export abstract class VectorDBService extends SecureConnector {
  // The backend. Names and ids are validated, the namespace is resolved for its owner and access is
  // checked before these run; datasource ids are safe to put in a filter, but a backend still
  // passes them as parameters where it can (W35). A backend never logs credentials (W36).

  /** The namespace record (with its ACL), or `undefined`. */
  protected abstract readNamespace(key: string): Promise<NamespaceRecord | undefined>;
  /** The records of the namespaces `owner` created. */
  protected abstract listNamespaceRecords(owner: AccessCandidate): Promise<NamespaceRecord[]>;
  protected abstract writeNamespace(namespace: VectorNamespace, record: NamespaceRecord): Promise<void>;
  /** Removes vectors, datasource records and ACL of the namespace. */
  protected abstract dropNamespace(namespace: VectorNamespace): Promise<void>;
  /**
   * The nearest vectors. A text query is embedded with the owner's credentials; a vector of the
   * wrong dimension throws `SreInvalidInputError`. May return more than `topK` or unsorted: the
   * base sorts and cuts.
   */
  protected abstract searchVectors(
    namespace: VectorNamespace,
    query: string | number[],
    options: Required<VectorSearchOptions>,
  ): Promise<VectorResult[]>;
  /**
   * Chunks, embeds and stores the datasource and its record. An existing datasource with the same
   * id is replaced whole: its vectors are removed, not left behind (W33). A failure leaves neither
   * vectors nor record of the new datasource.
   */
  protected abstract upsertDatasource(
    namespace: VectorNamespace,
    datasource: DatasourceInput,
  ): Promise<StoredDatasource>;
  protected abstract readDatasource(
    namespace: VectorNamespace,
    datasourceId: string,
  ): Promise<StoredDatasource | undefined>;
  protected abstract listDatasourceRecords(namespace: VectorNamespace): Promise<StoredDatasource[]>;
  /** Removes the datasource's vectors and record; `false` when it did not exist. */
  protected abstract dropDatasource(namespace: VectorNamespace, datasourceId: string): Promise<boolean>;

  /**
   * The storage name of an owner's namespace. The default is the original's `<r>_<id>_<name>`,
   * unambiguous because candidate ids hold no `_`. A connector that must map it (backend naming
   * rules) keeps it injective: a hash prefix is at least 128 bits (W37).
   */
  protected storageName(owner: AccessCandidate, name: string): string {
    return `${ROLE_INITIAL[owner.role]}_${owner.id}_${name}`;
  }

  /** The resource id is `<users|agents|teams|public>/<ownerId>/vectordb/<name>`; the ACL is the namespace's. */
  protected async getResourceACL(resourceId: string): Promise<ACL | undefined> {
    const [prefix, id, marker, ...rest] = resourceId.split('/');
    const role = PREFIX_ROLE[prefix];
    if (!role || marker !== 'vectordb' || rest.length === 0) return undefined;
    const record = await this.readNamespace(this.storageName(AccessCandidate.of(role, id), rest.join('/')));
    return record?.acl;
  }

  requester(candidate: AccessCandidate): VectorDBRequester {
    const resolve = (raw: string): VectorNamespace => {
      const name = this.normaliseName(raw);
      return { name, key: this.storageName(candidate, name), owner: candidate };
    };
    const open = async (raw: string, need: number) => {
      const namespace = resolve(raw);
      const acl = await this.authorize(
        candidate,
        need,
        `${ROLE_PREFIX[candidate.role]}/${candidate.id}/vectordb/${namespace.name}`,
      );
      return { namespace, exists: acl !== undefined };
    };
    const existing = async (raw: string, need: number) => {
      const { namespace, exists } = await open(raw, need);
      if (!exists) throw new SreNotFoundError('Namespace does not exist', this.source());
      return namespace;
    };
    return {
      candidate,
      search: async (raw, query, options = {}) => {
        const checked = this.checkSearch(query, options);
        const namespace = await existing(raw, READ);
        const results = await this.searchVectors(namespace, query, checked);
        const sorted = [...results]
          .sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity))
          .slice(0, checked.topK);
        return checked.includeMetadata
          ? sorted.map((r) => ({ ...r, metadata: r.metadata ?? {} }))
          : sorted.map(({ metadata: _dropped, ...r }) => r);
      },
      createDatasource: async (raw, dto) => {
        const input = this.checkDatasource(dto, candidate);
        const stored = await this.upsertDatasource(await existing(raw, WRITE), input);
        if (input.returnFullVectorInfo) return stored;
        const { vectorInfo: _dropped, ...rest } = stored;
        return rest;
      },
      deleteDatasource: async (raw, datasourceId) => {
        this.checkDatasourceId(datasourceId);
        if (!(await this.dropDatasource(await existing(raw, WRITE), datasourceId))) {
          throw new SreNotFoundError(`Data source not found with id: ${datasourceId}`, this.source());
        }
      },
      listDatasources: async (raw) => {
        const { namespace, exists } = await open(raw, READ);
        return exists ? this.listDatasourceRecords(namespace) : [];
      },
      getDatasource: async (raw, datasourceId) => {
        this.checkDatasourceId(datasourceId);
        const { namespace, exists } = await open(raw, READ);
        return exists ? this.readDatasource(namespace, datasourceId) : undefined;
      },
      createNamespace: async (raw, metadata = {}) => {
        if (!isPlainObject(metadata))
          throw new SreInvalidInputError('namespace metadata must be a plain object', this.source());
        this.checkJson(metadata, 'namespace metadata');
        const { namespace, exists } = await open(raw, WRITE);
        if (exists) return;
        await this.writeNamespace(namespace, {
          namespace: namespace.key,
          displayName: namespace.name,
          candidateId: candidate.id,
          candidateRole: candidate.role,
          metadata: { ...metadata },
          acl: new ACL().grant(candidate, 'owner'),
        });
      },
      deleteNamespace: async (raw) => {
        const { namespace, exists } = await open(raw, WRITE);
        if (exists) await this.dropNamespace(namespace);
      },
      namespaceExists: async (raw) => (await open(raw, READ)).exists,
      listNamespaces: async () => {
        const pending = this.ensureReady();
        if (pending) await pending;
        const records = await this.listNamespaceRecords(candidate);
        return records
          .filter((record) => record.acl.allowsDirectly(candidate, READ))
          .map(({ acl: _acl, ...info }) => info);
      },
    };
  }

  user(id: string): VectorDBRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): VectorDBRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): VectorDBRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  private normaliseName(raw: string): string {
    if (typeof raw !== 'string') throw this.invalid('a namespace name must be a string');
    const name = raw.trim().replace(/\s/g, '_').toLowerCase();
    // eslint-disable-next-line no-control-regex
    if (name === '' || Buffer.byteLength(name) > MAX_NAME_BYTES || /[\u0000-\u001f\u007f]/.test(name)) {
      throw this.invalid(`a namespace name must be 1 to ${MAX_NAME_BYTES} bytes without control characters`);
    }
    return name;
  }

  private checkSearch(query: string | number[], options: VectorSearchOptions): Required<VectorSearchOptions> {
    if (typeof query === 'string') {
      if (query.trim() === '') throw this.invalid('a search text must be non-empty');
    } else if (
      !Array.isArray(query) ||
      query.length === 0 ||
      !query.every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      throw this.invalid('a search vector must be a non-empty array of finite numbers');
    }
    if (!isPlainObject(options)) throw this.invalid('search options must be an object');
    const topK: unknown = options.topK ?? 10;
    if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K)
      throw this.invalid(`topK must be an integer from 1 to ${MAX_TOP_K}`);
    return { topK, includeMetadata: options.includeMetadata === true };
  }

  private checkDatasource(dto: DatasourceDto, candidate: AccessCandidate): DatasourceInput {
    if (!isPlainObject(dto)) throw this.invalid('a datasource must be an object');
    if (typeof dto.text !== 'string' || dto.text.trim() === '')
      throw this.invalid('a datasource needs a non-empty text');
    const id = dto.id ?? randomUUID();
    this.checkDatasourceId(id);
    if (dto.label !== undefined && typeof dto.label !== 'string') throw this.invalid('label must be a string');
    if (dto.chunkSize !== undefined && !(Number.isInteger(dto.chunkSize) && dto.chunkSize > 0))
      throw this.invalid('chunkSize must be a positive integer');
    if (dto.chunkOverlap !== undefined && !(Number.isInteger(dto.chunkOverlap) && dto.chunkOverlap >= 0))
      throw this.invalid('chunkOverlap must be a non-negative integer');
    if (dto.chunkSize !== undefined && dto.chunkOverlap !== undefined && dto.chunkOverlap >= dto.chunkSize)
      throw this.invalid('chunkOverlap must be smaller than chunkSize');
    const metadata = dto.metadata ?? {};
    if (!isPlainObject(metadata)) throw this.invalid('datasource metadata must be a plain object');
    this.checkJson(metadata, 'datasource metadata');
    return {
      id,
      label: dto.label || 'Untitled',
      text: dto.text,
      chunkSize: dto.chunkSize,
      chunkOverlap: dto.chunkOverlap,
      metadata: { ...metadata },
      returnFullVectorInfo: dto.returnFullVectorInfo === true,
      acl: new ACL().grant(candidate, 'owner'),
    };
  }

  private checkDatasourceId(id: string): void {
    if (typeof id !== 'string' || !DATASOURCE_ID.test(id))
      throw this.invalid("a datasource id must be 1 to 128 letters, digits, '.', '_', ':' or '-'");
  }

  private checkJson(value: unknown, what: string): void {
    try {
      JSON.stringify(value);
    } catch {
      throw this.invalid(`${what} must be JSON-serialisable (no cycles, no bigint)`);
    }
  }

  private invalid(why: string): SreInvalidInputError {
    return new SreInvalidInputError(why, this.source());
  }
}
