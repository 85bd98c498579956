/**
 * A wire-compatible Pinecone for the tests, on a free port of 127.0.0.1, for the official SDK:
 * the control plane (`/indexes`, snake_case JSON) and the data plane of every index (camelCase
 * JSON) on one port. An index's `host` is `http://127.0.0.1:<port>/_idx/<name>`: the SDK takes the
 * host as the base path of its data client, and without an explicit `http://` it would prepend
 * `https://`. It enforces the limits the connector must respect (1000 vectors and 2 MB per upsert,
 * 1000 ids per fetch or delete, topK up to 10000 and up to 1000 with values or metadata, no null
 * metadata), answers with exact cosine scores (double precision, a zero vector scores 0), checks
 * the `Api-Key` header, and can answer the next requests with an injected status.
 */
import * as http from 'node:http';
import { listenLocally } from './listen';
import { cosineSimilarity as cosine } from '../../libs/sre/src/vectordb/embeddings/similarity';

export type PineconeMetadataValue = string | number | boolean | string[];
export type PineconeMetadata = Record<string, PineconeMetadataValue>;

export interface PineconeVector {
  id: string;
  values: number[];
  metadata?: PineconeMetadata;
}

/** What the peer saw of one request. */
export interface PineconePeerRequest {
  method: string;
  /** The path without the index prefix, e.g. `/vectors/upsert` or `/indexes/docs`. */
  path: string;
  index?: string;
  apiKey: string;
  body: Record<string, unknown>;
  /** Size of the request body in bytes. */
  bytes: number;
}

interface Index {
  name: string;
  dimension: number;
  metric: 'cosine' | 'dotproduct' | 'euclidean';
  namespaces: Map<string, Map<string, PineconeVector>>;
}

export interface PineconePeer {
  /** `http://127.0.0.1:<port>`: the SDK's `controllerHostUrl`. */
  readonly origin: string;
  readonly requests: PineconePeerRequest[];
  /**
   * After `skip` more requests pass, the next `count` (of any kind) answer `status`, with
   * `retry-after` seconds when given.
   */
  failNext(count: number, status: number, retryAfterSeconds?: number, skip?: number): void;
  /** Creates an index without the SDK. */
  addIndex(name: string, dimension: number, metric?: Index['metric']): void;
  /** The vectors of one namespace of an index (`[]` when there is none), for assertions. */
  vectors(index: string, namespace: string): PineconeVector[];
  /** Names of the namespaces of an index that hold vectors. */
  namespaces(index: string): string[];
  stop(): Promise<void>;
}

const MAX_UPSERT_VECTORS = 1000;
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
const MAX_IDS = 1000;
const MAX_TOP_K = 10_000;
const MAX_TOP_K_WITH_DATA = 1000;
const DEFAULT_NAMESPACE = '__default__';

class PeerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new PeerError(400, message);

function score(metric: Index['metric'], a: number[], b: number[]): number {
  if (metric === 'cosine') return cosine(a, b);
  if (metric === 'dotproduct') return a.reduce((sum, x, i) => sum + x * b[i], 0);
  return a.reduce((sum, x, i) => sum + (x - b[i]) ** 2, 0);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Pinecone's filter language (the subset of MongoDB's it documents); anything else is a 400. */
function matches(metadata: PineconeMetadata | undefined, filter: unknown): boolean {
  if (filter === undefined) return true;
  if (!isPlainObject(filter)) throw bad('filter must be an object');
  return Object.entries(filter).every(([field, condition]) => {
    if (field === '$and' || field === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) throw bad(`${field} takes a non-empty list`);
      return field === '$and'
        ? condition.every((part) => matches(metadata, part))
        : condition.some((part) => matches(metadata, part));
    }
    if (field.startsWith('$')) throw bad(`unknown operator ${field}`);
    const value = metadata?.[field];
    const equals = (wanted: unknown) => (Array.isArray(value) ? value.includes(wanted as string) : value === wanted);
    if (!isPlainObject(condition)) return equals(condition);
    return Object.entries(condition).every(([op, argument]) => {
      switch (op) {
        case '$eq':
          return equals(argument);
        case '$ne':
          return value !== undefined && !equals(argument);
        case '$in':
        case '$nin': {
          if (!Array.isArray(argument)) throw bad(`${op} takes a list`);
          const found = argument.some(equals);
          return op === '$in' ? found : value !== undefined && !found;
        }
        case '$exists':
          return (value !== undefined) === argument;
        case '$gt':
          return typeof value === 'number' && value > (argument as number);
        case '$gte':
          return typeof value === 'number' && value >= (argument as number);
        case '$lt':
          return typeof value === 'number' && value < (argument as number);
        case '$lte':
          return typeof value === 'number' && value <= (argument as number);
        default:
          throw bad(`unknown operator ${op}`);
      }
    });
  });
}

function checkMetadata(metadata: unknown): PineconeMetadata | undefined {
  if (metadata === undefined) return undefined;
  if (!isPlainObject(metadata)) throw bad('metadata must be an object');
  for (const [key, value] of Object.entries(metadata)) {
    const ok =
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    if (!ok) throw bad(`Metadata value for field '${key}' must be a string, number, boolean or list of strings`);
  }
  return metadata as PineconeMetadata;
}

function send(res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

/**
 * Starts the peer. `apiKeys` are the keys it accepts (a request with another one is a 401).
 */
export async function startPineconePeer(options: { apiKeys: string[] }): Promise<PineconePeer> {
  const indexes = new Map<string, Index>();
  const requests: PineconePeerRequest[] = [];
  const failures: { status: number; retryAfter?: number }[] = [];
  let passBeforeFailing = 0;
  let origin = '';

  const describe = (index: Index) => ({
    name: index.name,
    dimension: index.dimension,
    metric: index.metric,
    host: `${origin}/_idx/${encodeURIComponent(index.name)}`,
    deletion_protection: 'disabled',
    spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
    status: { ready: true, state: 'Ready' },
    vector_type: 'dense',
  });

  const addIndex = (name: string, dimension: number, metric: Index['metric'] = 'cosine') => {
    indexes.set(name, { name, dimension, metric, namespaces: new Map() });
  };

  const control = (method: string, name: string | undefined, body: Record<string, unknown>) => {
    if (method === 'GET' && name === undefined)
      return { status: 200, body: { indexes: [...indexes.values()].map(describe) } };
    if (method === 'POST' && name === undefined) {
      const { name: created, dimension, metric } = body;
      if (typeof created !== 'string' || !/^[a-z0-9-]{1,45}$/.test(created))
        throw bad('index name must be 1-45 of a-z 0-9 -');
      if (typeof dimension !== 'number' || !Number.isInteger(dimension) || dimension < 1 || dimension > 20_000)
        throw bad('dimension must be an integer from 1 to 20000');
      if (indexes.has(created)) throw new PeerError(409, `Resource ${created} already exists`);
      addIndex(created, dimension, (metric as Index['metric']) ?? 'cosine');
      return { status: 201, body: describe(indexes.get(created)!) };
    }
    const index = name === undefined ? undefined : indexes.get(name);
    if (!index) throw new PeerError(404, `Resource ${name} not found`);
    if (method === 'GET') return { status: 200, body: describe(index) };
    if (method === 'DELETE') {
      indexes.delete(index.name);
      return { status: 202 };
    }
    throw new PeerError(405, 'Method not allowed');
  };

  const data = (route: string, index: Index, body: Record<string, unknown>, query: URLSearchParams) => {
    const namespaceName = (value: unknown) => (typeof value === 'string' && value !== '' ? value : DEFAULT_NAMESPACE);
    const stored = (name: string) => index.namespaces.get(name) ?? new Map<string, PineconeVector>();
    const checkVector = (values: unknown): number[] => {
      if (!Array.isArray(values) || !values.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw bad('values must be a list of finite numbers');
      if (values.length !== index.dimension)
        throw bad(`Vector dimension ${values.length} does not match the dimension of the index ${index.dimension}`);
      return values as number[];
    };
    const dropIfEmpty = (name: string) => {
      if (index.namespaces.get(name)?.size === 0) index.namespaces.delete(name);
    };
    switch (route) {
      case 'POST /vectors/upsert': {
        const vectors = body.vectors;
        if (!Array.isArray(vectors) || vectors.length === 0) throw bad('vectors must be a non-empty list');
        if (vectors.length > MAX_UPSERT_VECTORS)
          throw bad(`Batch size exceeds ${MAX_UPSERT_VECTORS}: got ${vectors.length} vectors`);
        const checked = vectors.map((vector: Record<string, unknown>) => {
          if (typeof vector.id !== 'string' || vector.id === '' || vector.id.length > 512)
            throw bad('vector id must be 1-512 characters');
          return { id: vector.id, values: checkVector(vector.values), metadata: checkMetadata(vector.metadata) };
        });
        const name = namespaceName(body.namespace);
        const target = stored(name);
        for (const vector of checked) target.set(vector.id, vector);
        index.namespaces.set(name, target);
        return { upsertedCount: checked.length };
      }
      case 'POST /query': {
        const topK = body.topK;
        if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K)
          throw bad(`topK must be an integer from 1 to ${MAX_TOP_K}`);
        if ((body.includeValues || body.includeMetadata) && topK > MAX_TOP_K_WITH_DATA)
          throw bad(`topK must be at most ${MAX_TOP_K_WITH_DATA} when including values or metadata`);
        const name = namespaceName(body.namespace);
        const vectors = stored(name);
        const probe = body.vector === undefined ? vectors.get(String(body.id))?.values : checkVector(body.vector);
        if (!probe) throw bad('query needs a vector or the id of a stored one');
        const descending = index.metric !== 'euclidean';
        const hits = [...vectors.values()]
          .filter((vector) => matches(vector.metadata, body.filter))
          .map((vector) => ({ vector, score: score(index.metric, probe, vector.values) }))
          .sort((a, b) => (descending ? b.score - a.score : a.score - b.score))
          .slice(0, topK);
        return {
          matches: hits.map(({ vector, score: value }) => ({
            id: vector.id,
            score: value,
            values: body.includeValues ? vector.values : [],
            ...(body.includeMetadata && vector.metadata ? { metadata: vector.metadata } : {}),
          })),
          namespace: name === DEFAULT_NAMESPACE ? '' : name,
          usage: { readUnits: 1 },
        };
      }
      case 'GET /vectors/fetch': {
        const ids = query.getAll('ids');
        if (ids.length === 0 || ids.length > MAX_IDS) throw bad(`fetch takes 1 to ${MAX_IDS} ids`);
        const name = namespaceName(query.get('namespace'));
        const vectors = stored(name);
        const found = Object.fromEntries(ids.filter((id) => vectors.has(id)).map((id) => [id, vectors.get(id)]));
        return { vectors: found, namespace: name === DEFAULT_NAMESPACE ? '' : name, usage: { readUnits: 1 } };
      }
      case 'GET /vectors/list': {
        const name = namespaceName(query.get('namespace'));
        const prefix = query.get('prefix') ?? '';
        const limit = Number(query.get('limit') ?? 100);
        const start = Number(query.get('paginationToken') ?? 0);
        const ids = [...stored(name).keys()].filter((id) => id.startsWith(prefix)).sort();
        const page = ids.slice(start, start + limit);
        return {
          vectors: page.map((id) => ({ id })),
          ...(start + limit < ids.length ? { pagination: { next: String(start + limit) } } : {}),
          namespace: name,
          usage: { readUnits: 1 },
        };
      }
      case 'POST /vectors/delete': {
        const name = namespaceName(body.namespace);
        const ways = [body.ids !== undefined, body.filter !== undefined, body.deleteAll === true].filter(Boolean);
        if (ways.length !== 1) throw bad('delete takes exactly one of ids, filter or deleteAll');
        const vectors = index.namespaces.get(name);
        if (body.deleteAll === true) {
          if (!vectors) throw new PeerError(404, 'Namespace not found');
          index.namespaces.delete(name);
        } else if (body.ids !== undefined) {
          const ids = body.ids;
          if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS)
            throw bad(`delete takes 1 to ${MAX_IDS} ids`);
          for (const id of ids) vectors?.delete(String(id));
        } else {
          if (!isPlainObject(body.filter) || Object.keys(body.filter).length === 0)
            throw bad('filter must be a non-empty object');
          for (const [id, vector] of vectors ?? []) if (matches(vector.metadata, body.filter)) vectors!.delete(id);
        }
        dropIfEmpty(name);
        return {};
      }
      case 'POST /describe_index_stats': {
        const namespaces: Record<string, { vectorCount: number }> = {};
        let total = 0;
        for (const [name, vectors] of index.namespaces) {
          const count = [...vectors.values()].filter((vector) => matches(vector.metadata, body.filter)).length;
          if (count > 0) namespaces[name] = { vectorCount: count };
          total += count;
        }
        return { namespaces, dimension: index.dimension, indexFullness: 0, totalVectorCount: total };
      }
      default:
        throw new PeerError(404, `Not found: ${route}`);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://peer');
      const method = req.method ?? 'GET';
      const dataRoute = /^\/_idx\/([^/]+)(\/.*)$/.exec(url.pathname);
      const indexName = dataRoute ? decodeURIComponent(dataRoute[1]) : undefined;
      const path = dataRoute ? dataRoute[2] : url.pathname;
      const apiKey = String(req.headers['api-key'] ?? '');
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        body = isPlainObject(parsed) ? parsed : {};
      } catch {
        return send(res, 400, { code: 3, message: 'Invalid JSON body', details: [] });
      }
      requests.push({ method, path, index: indexName, apiKey, body, bytes: raw.length });
      let failure: (typeof failures)[number] | undefined;
      if (failures.length > 0 && passBeforeFailing > 0) passBeforeFailing--;
      else failure = failures.shift();
      if (failure)
        return send(
          res,
          failure.status,
          { code: failure.status === 429 ? 8 : 13, message: 'injected failure', details: [] },
          failure.retryAfter === undefined ? {} : { 'retry-after': String(failure.retryAfter) },
        );
      try {
        if (!options.apiKeys.includes(apiKey)) throw new PeerError(401, 'Invalid API Key');
        if (raw.length > MAX_REQUEST_BYTES)
          throw bad(`Request size ${raw.length} exceeds the limit of ${MAX_REQUEST_BYTES} bytes`);
        if (dataRoute) {
          const index = indexes.get(indexName!);
          if (!index) throw new PeerError(404, `Index ${indexName} not found`);
          return send(res, 200, data(`${method} ${path}`, index, body, url.searchParams));
        }
        const controlRoute = /^\/indexes(?:\/([^/]+))?$/.exec(path);
        if (!controlRoute) throw new PeerError(404, `Not found: ${method} ${path}`);
        const answer = control(method, controlRoute[1] && decodeURIComponent(controlRoute[1]), body);
        return send(res, answer.status, answer.body);
      } catch (error) {
        const status = error instanceof PeerError ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        // the control plane nests its error, the data plane answers gRPC-style; the SDK reads either
        return send(
          res,
          status,
          dataRoute
            ? { code: status === 404 ? 5 : status === 401 ? 16 : 3, message, details: [] }
            : {
                error: {
                  code: status === 404 ? 'NOT_FOUND' : status === 409 ? 'ALREADY_EXISTS' : 'INVALID_ARGUMENT',
                  message,
                },
                status,
              },
        );
      }
    });
  });
  const listener = await listenLocally(server);
  origin = listener.origin;
  return {
    origin,
    requests,
    failNext(count, status, retryAfterSeconds, skip = 0) {
      passBeforeFailing = skip;
      for (let i = 0; i < count; i++) failures.push({ status, retryAfter: retryAfterSeconds });
    },
    addIndex,
    vectors: (index, namespace) => [...(indexes.get(index)?.namespaces.get(namespace)?.values() ?? [])],
    namespaces: (index) => [...(indexes.get(index)?.namespaces.keys() ?? [])],
    stop: () => listener.close(),
  };
}
