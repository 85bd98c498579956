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

/** First bytes of a body that also carries the entry's state (see `encodeBody`); never a v1 length (4 GB). */
const STATE_MARK = Buffer.from([0xff, 0x53, 0x32, 0x00]);
/** User metadata key marking such a body: its ETag then names the entry's whole state. */
export const STATE_IN_BODY = 'sre-body';

/**
 * An entry's body: the state mark, 4 bytes of state length, the state (ACL, expiry and type, as
 * in user metadata), 4 bytes of metadata length, the metadata JSON text (verbatim), the value's
 * bytes. Metadata sits in the body because S3 caps user metadata at 2 KB; ACL, expiry and type are
 * in user metadata too, so a HEAD decides access. With the state in the body, every change of
 * the entry changes its bytes, so S3's ETag (and its `If-Match`) tells every state apart: a
 * conditional write needs no lease. Bodies written before (no mark) start with the metadata length.
 */
export function encodeBody(
  value: CacheData,
  metadata: string,
  entry: Pick<CacheEntry, 'acl' | 'expiresAt'>,
): { body: Buffer; type: string; header: Record<string, string> } {
  const [type, bytes] = valueBytes(value);
  const header = entryMetadata(entry, type);
  const state = Buffer.from(JSON.stringify(header), 'utf8');
  const meta = Buffer.from(metadata, 'utf8');
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32BE(state.length, 0);
  sizes.writeUInt32BE(meta.length, 4);
  const body = Buffer.concat([STATE_MARK, sizes.subarray(0, 4), state, sizes.subarray(4), meta, bytes]);
  return { body, type, header: { ...header, [STATE_IN_BODY]: '2' } };
}

export function decodeBody(body: Buffer, type: string | undefined): { value: CacheData; metadata: string } {
  let offset = 0;
  if (body.length >= 8 && body.subarray(0, 4).equals(STATE_MARK)) offset = 8 + body.readUInt32BE(4);
  const length = body.length >= offset + 4 ? body.readUInt32BE(offset) : 0;
  const metadata = body.subarray(offset + 4, offset + 4 + length).toString('utf8') || '{}';
  const bytes = body.subarray(offset + 4 + length);
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

/** The user metadata of an entry (ACL compact, expiry in epoch ms, type). */
function entryMetadata(entry: Pick<CacheEntry, 'acl' | 'expiresAt'>, type: string): Record<string, string> {
  return {
    acl: entry.acl.serialize(),
    'sre-type': type,
    ...(entry.expiresAt !== undefined ? { expiresat: String(entry.expiresAt) } : {}),
  };
}
