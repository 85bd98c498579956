import { createHash } from 'node:crypto';
import type { CacheData, CacheEntry } from '../cache.backend';

/** Where entries live under the prefix: the original's folder (its per-candidate layout is not kept). */
export const CACHE_FOLDER = '_smyth_cache/';
/** S3 keys hold 1024 bytes: longer encoded keys are named by their hash. */
const MAX_ENCODED_KEY = 900;

/** How a value's JS type is kept (S3 stores bytes), in `x-amz-meta-sre-type`. */
const TYPE_CODES = { string: 's', number: 'n', boolean: 'b', null: 'z', buffer: 'x', json: 'j' } as const;

/** The object key of a cache key: percent-encoded (one path segment, no `..` walk), hashed when long. */
export function cacheObjectName(key: string): string {
  const encoded = encodeURIComponent(key);
  return `${CACHE_FOLDER}${encoded.length <= MAX_ENCODED_KEY ? encoded : `~${createHash('sha256').update(key).digest('hex')}`}`;
}

/**
 * An entry's body: 4 bytes of metadata length, the metadata JSON text (verbatim), the value's
 * bytes. Metadata sits in the body rather than in user metadata because S3 caps user metadata
 * at 2 KB; ACL, expiry, type and revision are in user metadata, so a HEAD decides access.
 */
export function encodeBody(value: CacheData, metadata: string): { body: Buffer; type: string } {
  const meta = Buffer.from(metadata, 'utf8');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(meta.length);
  const [type, bytes] = valueBytes(value);
  return { body: Buffer.concat([size, meta, bytes]), type };
}

export function decodeBody(body: Buffer, type: string | undefined): { value: CacheData; metadata: string } {
  const length = body.length >= 4 ? body.readUInt32BE(0) : 0;
  const metadata = body.subarray(4, 4 + length).toString('utf8') || '{}';
  const bytes = body.subarray(4 + length);
  return { value: valueOf(bytes, type), metadata };
}

function valueBytes(value: CacheData): [string, Buffer] {
  if (Buffer.isBuffer(value)) return [TYPE_CODES.buffer, value];
  if (value === null) return [TYPE_CODES.null, Buffer.alloc(0)];
  if (typeof value === 'string') return [TYPE_CODES.string, Buffer.from(value, 'utf8')];
  if (typeof value === 'number') return [TYPE_CODES.number, Buffer.from(Object.is(value, -0) ? '-0' : String(value))];
  if (typeof value === 'boolean') return [TYPE_CODES.boolean, Buffer.from(String(value))];
  return [TYPE_CODES.json, Buffer.from(value.json, 'utf8')];
}

function valueOf(bytes: Buffer, type: string | undefined): CacheData {
  switch (type) {
    case TYPE_CODES.buffer:
      return Buffer.from(bytes);
    case TYPE_CODES.null:
      return null;
    case TYPE_CODES.number:
      return Number(bytes.toString());
    case TYPE_CODES.boolean:
      return bytes.toString() === 'true';
    case TYPE_CODES.json:
      return { json: bytes.toString('utf8') };
    default:
      return bytes.toString('utf8');
  }
}

/** The user metadata of an entry (ACL compact, expiry in epoch ms, type, revision). */
export function entryMetadata(
  entry: Pick<CacheEntry, 'acl' | 'expiresAt'>,
  type: string,
  revision: string,
): Record<string, string> {
  return {
    acl: entry.acl.serialize(),
    'sre-type': type,
    'sre-rev': revision,
    ...(entry.expiresAt !== undefined ? { expiresat: String(entry.expiresAt) } : {}),
  };
}
