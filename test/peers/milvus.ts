/* eslint-disable @typescript-eslint/no-require-imports -- the SDK's protocol descriptor is a CommonJS module inside its dist */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { cosineSimilarity as cosine } from '../../libs/sre/src/vectordb/embeddings/similarity';

/**
 * A wire-compatible Milvus on a free port of 127.0.0.1, for the official Node SDK: a gRPC server
 * built from the protocol descriptor the SDK itself ships (so request and response shapes are the
 * SDK's own), with in-memory collections, exact vector search, and an evaluator for the expression
 * subset nestjs-sre generates. Like Milvus, it reports failures as a status inside the response
 * (`{ error_code, code, reason }`), never as a gRPC error, except for authentication.
 */

const DESCRIPTOR = (require('@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus') as { default: object }).default;
/** The SDK's own loader options: enums as names, 64-bit numbers as strings. */
const LOADER: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

type Scalar = string | number | boolean | null;
type Json = Scalar | Json[] | { [key: string]: Json };
type Row = Record<string, Json | number[] | undefined>;

interface Status {
  error_code: string;
  code: number;
  reason: string;
}
interface KeyValue {
  key: string;
  value: string;
}
interface FieldSchema {
  name: string;
  data_type: string;
  is_primary_key?: boolean;
  type_params?: KeyValue[];
  fieldID?: string;
  [more: string]: unknown;
}
interface Index {
  field_name: string;
  index_name: string;
  params: KeyValue[];
  metric: string;
}

export interface PeerCollection {
  readonly name: string;
  readonly id: string;
  readonly fields: FieldSchema[];
  readonly primary: string;
  readonly dimensions: Map<string, number>;
  readonly rows: Map<string, Row>;
  readonly properties: KeyValue[];
  readonly consistency: string;
  readonly schema: Record<string, unknown>;
  indexes: Index[];
  loaded: boolean;
}

/** What the peer saw of one call. */
export interface MilvusPeerRequest {
  method: string;
  /** The `authorization` metadata, decoded (`user:password` or the token), `''` when absent. */
  auth: string;
  collection?: string;
  expr?: string;
}

export interface MilvusPeer {
  /** `127.0.0.1:<port>`: the SDK's `address` (a plain address means an insecure channel). */
  readonly address: string;
  readonly requests: MilvusPeerRequest[];
  readonly collections: ReadonlyMap<string, PeerCollection>;
  /** The next call of `method` answers this status (a non-zero code inside a successful gRPC reply). */
  failNext(method: string, reason: string, code?: number): void;
  /** Forgets every collection (a fresh server, same address). */
  reset(): void;
  stop(): Promise<void>;
}

export interface MilvusPeerOptions {
  /** Accepted credentials: tokens, or `user:password`; none means no authentication. */
  credentials?: string[];
}

const OK: Status = { error_code: 'Success', code: 0, reason: '' };

class MilvusFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly errorCode = 'UnexpectedError',
  ) {
    super(message);
  }
}

const pairs = (list: KeyValue[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, value]));

// ---------------------------------------------------------------------------------------------
// Expressions: the subset nestjs-sre writes (==, !=, in, and, or, not, parentheses, literals,
// JSON access `field["key"]`), parsed into a predicate. Anything else is a parse error, as an
// unknown construct would be in Milvus: a connector that drifts from the subset fails loudly.

type Token =
  | { kind: 'ident'; value: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === '"' || char === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new MilvusFailure(1100, `cannot parse expression: unterminated string`);
        const c = text[i++];
        if (c === char) break;
        if (c !== '\\') {
          value += c;
          continue;
        }
        const escape = text[i++];
        const simple: Record<string, string> = {
          n: '\n',
          r: '\r',
          t: '\t',
          b: '\b',
          f: '\f',
          '"': '"',
          "'": "'",
          '\\': '\\',
        };
        if (escape in simple) value += simple[escape];
        else if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i, i + 4))) {
          value += String.fromCharCode(parseInt(text.slice(i, i + 4), 16));
          i += 4;
        } else throw new MilvusFailure(1100, `cannot parse expression: invalid escape \\${escape}`);
      }
      tokens.push({ kind: 'string', value });
      continue;
    }
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (number && (char === '-' || /\d/.test(char))) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_$][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word) {
      tokens.push({ kind: 'ident', value: word[0] });
      i += word[0].length;
      continue;
    }
    const op = ['==', '!=', '[', ']', '(', ')', ','].find((candidate) => text.startsWith(candidate, i));
    if (!op) throw new MilvusFailure(1100, `cannot parse expression: unexpected '${char}'`);
    tokens.push({ kind: 'op', value: op });
    i += op.length;
  }
  return tokens;
}

type Predicate = (row: Row) => boolean;
type Operand = (row: Row) => Json | number[] | undefined;

/** Typed equality as Milvus compares JSON values: `1` is not `"1"`, objects and arrays never match. */
function same(a: Json | number[] | undefined, b: Json | number[] | undefined): boolean {
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a === 'object' || typeof b === 'object') return false;
  return a === b;
}

function parseExpression(text: string, collection: PeerCollection): Predicate {
  const tokens = tokenize(text);
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const isOp = (value: string) => {
    const token = peek();
    return token?.kind === 'op' && token.value === value;
  };
  const isWord = (value: string) => {
    const token = peek();
    return token?.kind === 'ident' && token.value.toLowerCase() === value;
  };
  const expect = (value: string) => {
    if (!isOp(value)) throw new MilvusFailure(1100, `cannot parse expression: expected '${value}' in ${text}`);
    at++;
  };
  const literal = (): Json => {
    const token = tokens[at++];
    if (token?.kind === 'string' || token?.kind === 'number') return token.value;
    if (token?.kind === 'ident' && /^(true|false)$/i.test(token.value)) return token.value.toLowerCase() === 'true';
    throw new MilvusFailure(1100, `cannot parse expression: expected a literal in ${text}`);
  };
  const operand = (): Operand => {
    const token = tokens[at++];
    if (token?.kind !== 'ident') throw new MilvusFailure(1100, `cannot parse expression: expected a field in ${text}`);
    const name = token.value;
    if (!collection.fields.some((field) => field.name === name))
      throw new MilvusFailure(1100, `cannot parse expression: ${text}, error: field ${name} not exist`);
    const path: string[] = [];
    while (isOp('[')) {
      at++;
      const key = tokens[at++];
      if (key?.kind !== 'string') throw new MilvusFailure(1100, `cannot parse expression: a JSON key must be a string`);
      path.push(key.value);
      expect(']');
    }
    return (row) => {
      let value: Json | number[] | undefined = row[name];
      for (const key of path) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
        value = Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, Json>)[key] : undefined;
      }
      return value;
    };
  };
  const comparison = (): Predicate => {
    if (isOp('(')) {
      at++;
      const inner = disjunction();
      expect(')');
      return inner;
    }
    if (isWord('not')) {
      at++;
      const inner = comparison();
      return (row) => !inner(row);
    }
    const left = operand();
    if (isOp('==') || isOp('!=')) {
      const negate = tokens[at++].value === '!=';
      const right = literal();
      return negate ? (row) => !same(left(row), right) : (row) => same(left(row), right);
    }
    if (isWord('in') || isWord('not')) {
      const negate = isWord('not');
      at++;
      if (negate && !isWord('in')) throw new MilvusFailure(1100, `cannot parse expression: ${text}`);
      if (negate) at++;
      expect('[');
      const values: Json[] = [];
      while (!isOp(']')) {
        values.push(literal());
        if (!isOp(']')) expect(',');
      }
      at++;
      return (row) => values.some((value) => same(left(row), value)) !== negate;
    }
    throw new MilvusFailure(1100, `cannot parse expression: ${text}`);
  };
  const conjunction = (): Predicate => {
    const parts = [comparison()];
    while (isWord('and')) {
      at++;
      parts.push(comparison());
    }
    return (row) => parts.every((part) => part(row));
  };
  const disjunction = (): Predicate => {
    const parts = [conjunction()];
    while (isWord('or')) {
      at++;
      parts.push(conjunction());
    }
    return (row) => parts.some((part) => part(row));
  };
  if (text.trim() === '') return () => true;
  const predicate = disjunction();
  if (at !== tokens.length) throw new MilvusFailure(1100, `cannot parse expression: trailing input in ${text}`);
  return predicate;
}

// ---------------------------------------------------------------------------------------------
// Column data <-> rows, in the SDK's FieldData shapes.

const SCALAR_KEYS: Record<string, string> = {
  Bool: 'bool_data',
  Int8: 'int_data',
  Int16: 'int_data',
  Int32: 'int_data',
  Int64: 'long_data',
  Float: 'float_data',
  Double: 'double_data',
  VarChar: 'string_data',
  JSON: 'json_data',
};

interface FieldData {
  field_name: string;
  type?: string;
  scalars?: Record<string, { data: unknown[] } | undefined>;
  vectors?: { dim: string; float_vector?: { data: number[] } };
}

function rowsOf(columns: FieldData[], count: number, collection: PeerCollection): Row[] {
  const rows: Row[] = Array.from({ length: count }, () => ({}));
  for (const column of columns) {
    const field = collection.fields.find((candidate) => candidate.name === column.field_name);
    if (!field) throw new MilvusFailure(1100, `field ${column.field_name} not exist in the schema`);
    let values: (Json | number[])[];
    if (column.vectors) {
      const dim = Number(column.vectors.dim);
      const flat = column.vectors.float_vector?.data;
      if (!flat) throw new MilvusFailure(1100, `only float vectors are supported (${column.field_name})`);
      if (dim !== collection.dimensions.get(field.name))
        throw new MilvusFailure(
          1100,
          `the dim (${dim}) of field data(${field.name}) is not equal to schema dim (${collection.dimensions.get(field.name)})`,
        );
      values = Array.from({ length: flat.length / dim }, (_, row) => flat.slice(row * dim, (row + 1) * dim));
    } else {
      const key = SCALAR_KEYS[field.data_type];
      const data = column.scalars?.[key]?.data;
      if (!data) throw new MilvusFailure(1100, `field ${field.name}: expected ${key}`);
      values =
        key === 'json_data'
          ? data.map((bytes) => JSON.parse(Buffer.from(bytes as Uint8Array).toString('utf8') || 'null') as Json)
          : key === 'long_data'
            ? data.map(Number)
            : (data as Json[]);
      const max = Number(pairs(field.type_params).max_length);
      if (key === 'string_data' && max)
        for (const value of values)
          if (Buffer.byteLength(String(value)) > max)
            throw new MilvusFailure(1100, `length of varchar field ${field.name} exceeds max length ${max}`);
    }
    if (values.length !== count)
      throw new MilvusFailure(1100, `field ${field.name}: ${values.length} of ${count} rows`);
    values.forEach((value, row) => (rows[row][field.name] = value));
  }
  return rows;
}

function columnsOf(collection: PeerCollection, rows: Row[], names: string[]): FieldData[] {
  return names.map((name) => {
    const field = collection.fields.find((candidate) => candidate.name === name)!;
    if (field.data_type === 'FloatVector')
      return {
        type: field.data_type,
        field_name: name,
        field_id: field.fieldID,
        vectors: {
          dim: String(collection.dimensions.get(name)),
          float_vector: { data: rows.flatMap((row) => row[name] as number[]) },
        },
      };
    const key = SCALAR_KEYS[field.data_type];
    const data = rows.map((row) => {
      const value = row[name];
      if (key === 'json_data') return Buffer.from(JSON.stringify(value ?? null));
      if (key === 'long_data') return String(value);
      return value;
    });
    return {
      type: field.data_type,
      field_name: name,
      field_id: field.fieldID,
      scalars: { [key]: { data } },
      valid_data: [],
    };
  });
}

function outputColumns(collection: PeerCollection, requested: string[] | undefined): string[] {
  const names = new Set<string>([collection.primary]);
  for (const name of requested ?? []) {
    if (name === '*') collection.fields.forEach((field) => names.add(field.name));
    else if (collection.fields.some((field) => field.name === name)) names.add(name);
    else throw new MilvusFailure(1100, `field ${name} not exist`);
  }
  return [...names];
}

// ---------------------------------------------------------------------------------------------

type Handler = (request: Record<string, unknown>) => object;

/** Methods whose reply is a bare `common.Status` rather than a message holding one. */
const STATUS_REPLIES = new Set([
  'CreateCollection',
  'DropCollection',
  'CreateIndex',
  'DropIndex',
  'LoadCollection',
  'ReleaseCollection',
]);

export async function startMilvusPeer(options: MilvusPeerOptions = {}): Promise<MilvusPeer> {
  const definition = protoLoader.fromJSON(DESCRIPTOR, LOADER);
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    milvus: { proto: { milvus: Record<string, { service: grpc.ServiceDefinition }> } };
  };
  const services = loaded.milvus.proto.milvus;
  const root = protobuf.Root.fromJSON(DESCRIPTOR as protobuf.INamespace);
  const schemaType = root.lookupType('milvus.proto.schema.CollectionSchema');
  const placeholderType = root.lookupType('milvus.proto.common.PlaceholderGroup');

  const collections = new Map<string, PeerCollection>();
  const requests: MilvusPeerRequest[] = [];
  const failures: { method: string; reason: string; code: number }[] = [];
  let nextId = 1;

  const get = (name: unknown): PeerCollection => {
    const found = collections.get(String(name));
    if (!found)
      throw new MilvusFailure(
        100,
        `collection not found[database=default][collection=${String(name)}]`,
        'CollectionNotExists',
      );
    return found;
  };
  const loadedOnly = (collection: PeerCollection) => {
    if (!collection.loaded) throw new MilvusFailure(101, `collection not loaded[collection=${collection.id}]`);
  };
  const ids = (collection: PeerCollection, values: string[]) =>
    collection.fields.find((field) => field.name === collection.primary)!.data_type === 'VarChar'
      ? { str_id: { data: values } }
      : { int_id: { data: values } };

  const write = (request: Record<string, unknown>, upsert: boolean) => {
    const collection = get(request.collection_name);
    const rows = rowsOf(request.fields_data as FieldData[], Number(request.num_rows), collection);
    for (const row of rows) collection.rows.set(String(row[collection.primary]), row);
    const written = rows.map((row) => String(row[collection.primary]));
    return {
      status: OK,
      IDs: ids(collection, written),
      succ_index: written.map((_, i) => i),
      err_index: [],
      [upsert ? 'upsert_cnt' : 'insert_cnt']: String(written.length),
      timestamp: String(Date.now()),
    };
  };

  const handlers: Record<string, Handler> = {
    Connect: () => ({
      status: OK,
      server_info: { build_tags: 'nestjs-sre-peer', reserved: {} },
      identifier: String(Date.now()),
    }),
    GetVersion: () => ({ status: OK, version: 'v2.5.0-peer' }),
    CheckHealth: () => ({ status: OK, isHealthy: true, reasons: [] }),
    CreateCollection: (request) => {
      const name = String(request.collection_name);
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,254}$/.test(name))
        throw new MilvusFailure(1100, `Invalid collection name: ${name}`);
      if (collections.has(name)) throw new MilvusFailure(65535, `collection already exists: ${name}`);
      const schema = schemaType.toObject(schemaType.decode(request.schema as Uint8Array), LOADER) as {
        fields: FieldSchema[];
      } & Record<string, unknown>;
      schema.name = name;
      const dimensions = new Map<string, number>();
      schema.fields.forEach((field, i) => {
        field.fieldID = String(100 + i);
        const dim = pairs(field.type_params).dim;
        if (field.data_type === 'FloatVector') dimensions.set(field.name, Number(dim));
      });
      const primary = schema.fields.find((field) => field.is_primary_key);
      if (!primary) throw new MilvusFailure(1100, 'schema does not contain primary key field');
      if (dimensions.size === 0) throw new MilvusFailure(1100, 'schema does not contain vector field');
      collections.set(name, {
        name,
        id: String(nextId++),
        fields: schema.fields,
        primary: primary.name,
        dimensions,
        rows: new Map(),
        properties: (request.properties as KeyValue[]) ?? [],
        consistency: String(request.consistency_level ?? 'Bounded'),
        schema,
        indexes: [],
        loaded: false,
      });
      return OK;
    },
    HasCollection: (request) => ({ status: OK, value: collections.has(String(request.collection_name)) }),
    DescribeCollection: (request) => {
      const collection = get(request.collection_name);
      return {
        status: OK,
        schema: collection.schema,
        collectionID: collection.id,
        collection_name: collection.name,
        consistency_level: collection.consistency,
        created_timestamp: '0',
        created_utc_timestamp: '0',
        shards_num: 1,
        properties: collection.properties,
        db_name: 'default',
      };
    },
    ShowCollections: () => ({
      status: OK,
      collection_names: [...collections.keys()],
      collection_ids: [...collections.values()].map((collection) => collection.id),
    }),
    DropCollection: (request) => {
      get(request.collection_name);
      collections.delete(String(request.collection_name));
      return OK;
    },
    CreateIndex: (request) => {
      const collection = get(request.collection_name);
      const fieldName = String(request.field_name);
      if (!collection.fields.some((field) => field.name === fieldName))
        throw new MilvusFailure(1100, `field ${fieldName} not found`);
      const params = request.extra_params as KeyValue[];
      collection.indexes = collection.indexes.filter((index) => index.field_name !== fieldName);
      collection.indexes.push({
        field_name: fieldName,
        index_name: String(request.index_name || fieldName),
        params,
        metric: pairs(params).metric_type ?? 'COSINE',
      });
      return OK;
    },
    DescribeIndex: (request) => {
      const collection = get(request.collection_name);
      if (collection.indexes.length === 0)
        throw new MilvusFailure(700, `index not found[collection=${collection.name}]`, 'IndexNotExist');
      return {
        status: OK,
        index_descriptions: collection.indexes.map((index, i) => ({
          index_name: index.index_name,
          indexID: String(i + 1),
          params: index.params,
          field_name: index.field_name,
          indexed_rows: String(collection.rows.size),
          total_rows: String(collection.rows.size),
          state: 'Finished',
        })),
      };
    },
    LoadCollection: (request) => {
      const collection = get(request.collection_name);
      if (collection.indexes.length === 0)
        throw new MilvusFailure(700, `index not found[collection=${collection.name}]`, 'IndexNotExist');
      collection.loaded = true;
      return OK;
    },
    ReleaseCollection: (request) => {
      get(request.collection_name).loaded = false;
      return OK;
    },
    GetLoadState: (request) => ({
      status: OK,
      state: get(request.collection_name).loaded ? 'LoadStateLoaded' : 'LoadStateNotLoad',
    }),
    GetLoadingProgress: (request) => ({
      status: OK,
      progress: get(request.collection_name).loaded ? '100' : '0',
      refresh_progress: '0',
    }),
    Flush: () => ({ status: OK, db_name: 'default', coll_segIDs: {}, flush_coll_segIDs: {} }),
    Insert: (request) => write(request, false),
    Upsert: (request) => write(request, true),
    Delete: (request) => {
      const collection = get(request.collection_name);
      if (!request.expr) throw new MilvusFailure(1100, 'delete plan cannot be empty');
      const match = parseExpression(String(request.expr), collection);
      const gone = [...collection.rows.entries()].filter(([, row]) => match(row)).map(([id]) => id);
      gone.forEach((id) => collection.rows.delete(id));
      return {
        status: OK,
        IDs: ids(collection, gone),
        delete_cnt: String(gone.length),
        succ_index: [],
        err_index: [],
        timestamp: String(Date.now()),
      };
    },
    Query: (request) => {
      const collection = get(request.collection_name);
      loadedOnly(collection);
      const params = pairs(request.query_params as KeyValue[]);
      const expr = String(request.expr ?? '');
      if (!expr && params.limit === undefined)
        throw new MilvusFailure(1100, 'empty expression should be used with limit');
      const offset = Number(params.offset ?? 0);
      const limit = params.limit === undefined ? undefined : Number(params.limit);
      if (offset + (limit ?? 0) > 16384)
        throw new MilvusFailure(1100, 'invalid max query result window, (offset+limit) should be in range [1, 16384]');
      const match = parseExpression(expr, collection);
      let rows = [...collection.rows.values()].filter(match);
      rows = rows.slice(offset, limit === undefined ? undefined : offset + limit);
      const names = outputColumns(collection, request.output_fields as string[]);
      return {
        status: OK,
        collection_name: collection.name,
        output_fields: names,
        primary_field_name: collection.primary,
        fields_data: columnsOf(collection, rows, names),
      };
    },
    Search: (request) => {
      const collection = get(request.collection_name);
      loadedOnly(collection);
      const params = pairs(request.search_params as KeyValue[]);
      const vectorField = params.anns_field || [...collection.dimensions.keys()][0];
      const topK = Number(params.topk ?? 10);
      if (!(topK >= 1 && topK <= 16384))
        throw new MilvusFailure(1100, `topk [${topK}] is invalid, it should be in range [1, 16384]`);
      const group = placeholderType.toObject(placeholderType.decode(request.placeholder_group as Uint8Array)) as {
        placeholders: { values: Uint8Array[] }[];
      };
      const queries = group.placeholders[0].values.map((bytes) =>
        Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))),
      );
      for (const query of queries)
        if (query.length !== collection.dimensions.get(vectorField))
          throw new MilvusFailure(
            1100,
            `the dimension of the vector (${query.length}) doesn't match the field's (${collection.dimensions.get(vectorField)})`,
          );
      const match = parseExpression(String(request.dsl ?? ''), collection);
      const candidates = [...collection.rows.values()].filter(match);
      const perQuery = queries.map((query) =>
        candidates
          .map((row) => ({ row, score: cosine(query, row[vectorField] as number[]) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, topK),
      );
      const hits = perQuery.flat();
      const names = outputColumns(collection, request.output_fields as string[]);
      return {
        status: OK,
        collection_name: collection.name,
        results: {
          num_queries: String(queries.length),
          top_k: String(topK),
          topks: perQuery.map((list) => String(list.length)),
          scores: hits.map((hit) => hit.score),
          ids: ids(
            collection,
            hits.map((hit) => String(hit.row[collection.primary])),
          ),
          fields_data: columnsOf(
            collection,
            hits.map((hit) => hit.row),
            names,
          ),
          output_fields: names,
          primary_field_name: collection.primary,
        },
      };
    },
  };

  const authorized = (metadata: grpc.Metadata): { ok: boolean; auth: string } => {
    const header = metadata.get('authorization')[0];
    const auth = header ? Buffer.from(String(header), 'base64').toString('utf8') : '';
    return { ok: !options.credentials?.length || options.credentials.includes(auth), auth };
  };

  const server = new grpc.Server();
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(services.MilvusService.service)) {
    implementation[method] = (
      call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const { ok, auth } = authorized(call.metadata);
      const request = call.request;
      requests.push({
        method,
        auth,
        collection: typeof request.collection_name === 'string' ? request.collection_name : undefined,
        expr:
          typeof request.expr === 'string' ? request.expr : typeof request.dsl === 'string' ? request.dsl : undefined,
      });
      if (!ok)
        return callback({
          code: grpc.status.UNAUTHENTICATED,
          details: 'auth check failure, please check username and password are correct',
        });
      const handler = handlers[method];
      if (!handler)
        return callback({ code: grpc.status.UNIMPLEMENTED, details: `the peer does not implement ${method}` });
      const answer = (status: Status, body?: Record<string, unknown>) =>
        callback(null, STATUS_REPLIES.has(method) ? status : { ...body, status });
      const injected = failures.findIndex((failure) => failure.method === method);
      if (injected >= 0) {
        const [failure] = failures.splice(injected, 1);
        return answer({ error_code: 'UnexpectedError', code: failure.code, reason: failure.reason });
      }
      try {
        const body = handler(request);
        callback(null, body);
      } catch (error) {
        const failure = error instanceof MilvusFailure ? error : new MilvusFailure(65535, String(error));
        answer({ error_code: failure.errorCode, code: failure.code, reason: failure.message });
      }
    };
  }
  server.addService(services.MilvusService.service, implementation);
  // the SDK's telemetry heartbeat, for clients that leave it on
  server.addService(services.ClientTelemetryService.service, {
    ClientHeartbeat: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { status: OK, server_timestamp: String(Date.now()), commands: [] }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  return {
    address: `127.0.0.1:${port}`,
    requests,
    collections,
    failNext: (method, reason, code = 65535) => void failures.push({ method, reason, code }),
    reset: () => {
      collections.clear();
      requests.length = 0;
      failures.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // a client that never closes its channel must not hold the test run open
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000).unref();
      }),
  };
}
