import { createHash } from 'node:crypto';
import type { FieldType } from '@zilliz/milvus2-sdk-node';
import type { AccessCandidate } from '../../security/access-candidate';
import type { VectorNamespace } from '../vectordb.backend';

/** Collection prefixes: a Milvus name starts with a letter or `_` and holds only `[A-Za-z0-9_]`. */
export const COLLECTION_PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

/** The collection property that holds the namespace record (owner, display name, metadata, ACL). */
export const NAMESPACE_PROPERTY = 'nestjs_sre.namespace';

/** Bytes of a VarChar text field: Milvus' maximum. */
export const TEXT_BYTES = 65_535;
/** Characters of datasource text per record row: 3 UTF-8 bytes a UTF-16 unit at most, so it fits `TEXT_BYTES`. */
export const RECORD_PART_CHARS = 16_000;
/** Milvus' largest query window (offset + limit) and search `limit`. */
export const MAX_WINDOW = 16_384;

/** What a row is: a searchable chunk, or one part of a datasource record (kept out of searches). */
export const CHUNK = 'chunk';
export const RECORD = 'record';

const hex = (text: string, chars: number) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, chars);

const ROLE_INITIAL = { user: 'u', agent: 'a', team: 't', public: 'p' } as const;

/**
 * The part of a collection name shared by all namespaces of one owner (64 bits: it only narrows a
 * listing, the record inside decides). Taken from the key's owner prefix `<r>_<ownerId>_`, so that
 * the collection of a key is found from the key alone.
 */
export function ownerPart(owner: AccessCandidate): string {
  return hex(`${ROLE_INITIAL[owner.role]}_${owner.id}_`, 16);
}

function ownerPartOfKey(key: string): string {
  return hex(/^[a-z]_[^_]*_/.exec(key)?.[0] ?? '', 16);
}

/**
 * The collection of a namespace: `<prefix>_<owner 64 bits>_<key 128 bits>`. Milvus names allow only
 * `[A-Za-z0-9_]`, so the storage key is hashed, with 128 bits (W37: the original kept 32, a
 * collision between tenants within reach at scale); the record inside the collection names its
 * key, and a collection whose record names another key is never taken for this namespace.
 */
export function collectionOf(prefix: string, key: VectorNamespace['key']): string {
  return `${prefix}_${ownerPartOfKey(key)}_${hex(key, 32)}`;
}

/** The fields of every namespace collection (the original's, plus `kind` and `generation`). */
export function collectionFields(
  sdk: { DataType: typeof import('@zilliz/milvus2-sdk-node').DataType },
  dimensions: number,
): FieldType[] {
  const { DataType } = sdk;
  const varchar = (name: string, max_length: number): FieldType => ({ name, data_type: DataType.VarChar, max_length });
  return [
    { ...varchar('id', 256), is_primary_key: true, autoID: false },
    varchar('kind', 16),
    varchar('datasourceId', 256),
    // which write of the datasource a row belongs to: the replaced one's rows go by this (W33)
    varchar('generation', 64),
    varchar('namespaceId', 2048),
    varchar('acl', TEXT_BYTES),
    varchar('text', TEXT_BYTES),
    { name: 'user_metadata', data_type: DataType.JSON },
    { name: 'smyth_metadata', data_type: DataType.JSON },
    { name: 'vector', data_type: DataType.FloatVector, dim: dimensions },
  ];
}

/** The unit vector the record rows carry (they are never searched: a filter keeps them out). */
export function placeholderVector(dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  vector[dimensions - 1] = 1;
  return vector;
}

/** `text` in pieces of at most `size` UTF-16 units, never splitting a surrogate pair. */
export function splitText(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let at = 0; at < text.length;) {
    let end = Math.min(at + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts.length ? parts : [''];
}
