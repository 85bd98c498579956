import { randomUUID } from 'node:crypto';
import type { ConnectorContext } from '../core/backend';
import { SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate, type Level, type Role } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { READ, SecureService, type SecureServiceDeps, WRITE } from '../security/secure-service';
import type {
  DatasourceDto,
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBBackend,
  VectorNamespace,
  VectorNamespaceInfo,
  VectorResult,
  VectorSearchOptions,
} from './vectordb.backend';
import { checkMetadataFilter } from './metadata-filter';

export type {
  DatasourceDto,
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBBackend,
  VectorNamespace,
  VectorNamespaceInfo,
  VectorFilterValue,
  VectorMetadataFilter,
  VectorResult,
  VectorSearchOptions,
} from './vectordb.backend';
export { VECTORDB_OPERATIONS } from './vectordb.backend';

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
 * The storage name of an owner's namespace: the original's `<r>_<id>_<name>`, unambiguous because
 * candidate ids hold no `_`.
 */
function storageName(owner: AccessCandidate, name: string): string {
  return `${ROLE_INITIAL[owner.role]}_${owner.id}_${name}`;
}

/** The resource id of an owner's namespace, as `hasAccess` takes it. */
function resourceIdOf(owner: AccessCandidate, name: string): string {
  return `${ROLE_PREFIX[owner.role]}/${owner.id}/vectordb/${name}`;
}

/**
 * Vector search over embedded texts: what you inject. Naming, validation, the access decision (the
 * namespace's own ACL, read from the backend) and the result rules (exact `topK`, descending
 * scores, metadata only on request) live here, the same for every backend; connectors implement
 * `VectorDBBackend`.
 */
export class VectorDBService extends SecureService<VectorDBBackend> {
  constructor(backend: VectorDBBackend, context: ConnectorContext | undefined, deps: SecureServiceDeps) {
    super(backend, context, deps);
  }

  /**
   * True when `candidate` holds every level in `levels` on `<users|agents|teams|public>/<ownerId>/vectordb/<name>`,
   * decided on that namespace's ACL (a namespace not created yet: only its owner, or a member of
   * the owning team, may create it). Errors deny.
   */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    try {
      const [prefix, id, marker, ...rest] = resourceId.split('/');
      const role = PREFIX_ROLE[prefix];
      if (!role || marker !== 'vectordb' || rest.length === 0) return false;
      const record = await this.recordOf(storageName(AccessCandidate.of(role, id), this.normaliseName(rest.join('/'))));
      return await this.allows(candidate, levels, resourceId, record?.acl);
    } catch {
      return false;
    }
  }

  requester(candidate: AccessCandidate): VectorDBRequester {
    const resolve = (raw: string): VectorNamespace => {
      const name = this.normaliseName(raw);
      return { name, key: storageName(candidate, name), owner: candidate };
    };
    /** Reads the namespace and decides on its ACL; `record` is `undefined` when it does not exist. */
    const open = async (raw: string, need: number) => {
      const namespace = resolve(raw);
      const record = await this.recordOf(namespace.key);
      await this.authorize(candidate, need, resourceIdOf(candidate, namespace.name), record?.acl);
      return { namespace, record };
    };
    const existing = async (raw: string, need: number): Promise<VectorNamespace> => {
      const { namespace, record } = await open(raw, need);
      if (!record) throw this.noNamespace();
      return namespace;
    };
    return {
      candidate,
      search: async (raw, query, options = {}) => {
        const checked = this.checkSearch(query, options);
        const namespace = await existing(raw, READ);
        const results = await this.call('searching', () => this.backend.searchVectors(namespace, query, checked));
        if (results === undefined) throw this.noNamespace();
        const sorted = [...results]
          .sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity))
          .slice(0, checked.topK);
        return checked.includeMetadata
          ? sorted.map((r) => ({ ...r, metadata: r.metadata ?? {} }))
          : sorted.map(({ metadata: _dropped, ...r }) => r);
      },
      createDatasource: async (raw, dto) => {
        const input = this.checkDatasource(dto, candidate);
        const namespace = await existing(raw, WRITE);
        const stored = await this.call('storing a datasource', () => this.backend.upsertDatasource(namespace, input));
        if (stored === undefined) throw this.noNamespace();
        if (input.returnFullVectorInfo) return stored;
        const { vectorInfo: _dropped, ...rest } = stored;
        return rest;
      },
      deleteDatasource: async (raw, datasourceId) => {
        this.checkDatasourceId(datasourceId);
        const namespace = await existing(raw, WRITE);
        const dropped = await this.call('deleting a datasource', () =>
          this.backend.dropDatasource(namespace, datasourceId),
        );
        if (dropped !== true)
          throw new SreNotFoundError(`Data source not found with id: ${datasourceId}`, this.source());
      },
      listDatasources: async (raw) => {
        const { namespace, record } = await open(raw, READ);
        return record ? this.call('listing datasources', () => this.backend.listDatasourceRecords(namespace)) : [];
      },
      getDatasource: async (raw, datasourceId) => {
        this.checkDatasourceId(datasourceId);
        const { namespace, record } = await open(raw, READ);
        return record
          ? this.call('reading a datasource', () => this.backend.readDatasource(namespace, datasourceId))
          : undefined;
      },
      createNamespace: async (raw, metadata = {}) => {
        if (!isPlainObject(metadata)) throw this.invalid('namespace metadata must be a plain object');
        this.checkJson(metadata, 'namespace metadata');
        const namespace = resolve(raw);
        const record: NamespaceRecord = {
          namespace: namespace.key,
          displayName: namespace.name,
          candidateId: candidate.id,
          candidateRole: candidate.role,
          metadata: { ...metadata },
          acl: new ACL().grant(candidate, 'owner'),
        };
        // create-if-absent: a namespace that appears meanwhile is decided on as it is, never overwritten
        await this.retryOnConflict(`namespace '${namespace.name}'`, async () => {
          const { record: found } = await open(raw, WRITE);
          if (found) return true;
          return (
            (await this.call('creating a namespace', () => this.backend.createNamespace(namespace, record))) === true
          );
        });
      },
      deleteNamespace: async (raw) => {
        const { namespace, record } = await open(raw, WRITE);
        if (record) await this.call('deleting a namespace', () => this.backend.dropNamespace(namespace));
      },
      namespaceExists: async (raw) => (await open(raw, READ)).record !== undefined,
      listNamespaces: async () => {
        const records = await this.call('listing namespaces', () => this.backend.listNamespaceRecords(candidate));
        return records
          .filter(
            (record) =>
              record.candidateId === candidate.id &&
              record.candidateRole === candidate.role &&
              record.acl.allowsDirectly(candidate, READ),
          )
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

  private recordOf(key: string): Promise<NamespaceRecord | undefined> {
    return Promise.resolve(this.call('reading a namespace', () => this.backend.readNamespace(key)));
  }

  private noNamespace(): SreNotFoundError {
    return new SreNotFoundError('Namespace does not exist', this.source());
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
    const filter = checkMetadataFilter(options.filter);
    if (typeof filter === 'string') throw this.invalid(filter);
    return { topK, includeMetadata: options.includeMetadata === true, filter };
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
