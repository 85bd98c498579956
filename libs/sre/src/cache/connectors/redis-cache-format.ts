import { ACL } from '../../security/acl';
import type { CacheData } from '../cache.backend';

/**
 * The Redis layout of a cache key, the original's (Appendix B): the value in `<prefix>:cache:<key>`
 * as its raw bytes, the metadata in `<prefix>:metadata:<key>` as JSON with the compact `acl`.
 * What this library adds is one leading field of that JSON, `_sre`: `<type>|<write id>|<expiresAt>`
 * (the JS type of the value, a fresh id per write, the expiry in epoch ms or empty). The metadata
 * text as a whole is the key's version: every write here changes it, and the scripts compare it.
 * A key the original wrote (no `_sre`) reads as a string value with its metadata and ACL, its
 * expiry from Redis' own TTL.
 */

/** How a value is kept: s string, b bytes, n number, t/f boolean, z null, j JSON text. */
type ValueType = 's' | 'b' | 'n' | 't' | 'f' | 'z' | 'j';

/** A key's metadata text, decoded. */
export interface StoredMetadata {
  type: ValueType;
  /** Compact ACL text, or an ACL object (some original versions stored the object). */
  acl: ACL;
  /** Epoch ms from `_sre`; `undefined` for none, `null` when the key is the original's (ask Redis). */
  expiresAt: number | undefined | null;
  /** The user metadata as JSON text. */
  user: string;
}

const OURS = /^\{"_sre":"([sbntfzj])\|[A-Za-z0-9_-]*\|(\d*)","acl":("(?:[^"\\]|\\.)*")(\}|,)/;

/**
 * Lua shared by every script (`now` is `ARGV[1]`, epoch ms): `live(value, metadata, text)` is the
 * metadata text, or `nil` (both keys deleted) once its `_sre` expiry has passed.
 */
const LIVE = `
local now = tonumber(ARGV[1])
local function live(kv, km, md)
  local exp = string.match(md, '^{"_sre":"%a|[%w_-]*|(%d+)"')
  if exp and tonumber(exp) <= now then
    redis.call('DEL', kv, km)
    return nil
  end
  return md
end
`;

/**
 * Lua shared by the single-key scripts: `state(value, metadata)` is a key's state as the client
 * sees it: its metadata text, `''` for a value without metadata, `nil` when missing or past its
 * `_sre` expiry (the client's clock decides, so that a key it reads as expired is also expired for
 * its conditional writes; Redis' own expiry then frees it).
 */
const STATE = `${LIVE}
local function state(kv, km)
  if redis.call('EXISTS', kv) == 0 then return nil end
  local md = redis.call('GET', km)
  if not md then return '' end
  return live(kv, km, md)
end
local function expire(kv, km, at)
  if at ~= '' then
    redis.call('PEXPIREAT', kv, at)
    redis.call('PEXPIREAT', km, at)
  end
end
`;

/** The scripts, as ioredis `defineCommand` takes them (two keys: value, metadata). */
export const REDIS_CACHE_SCRIPTS = {
  /** ARGV now, version, withValue → nil when the key is not at version, else the value or 1. */
  sreCacheAt: `${STATE}
if state(KEYS[1], KEYS[2]) ~= ARGV[2] then return nil end
if ARGV[3] == '1' then return redis.call('GET', KEYS[1]) end
return 1`,
  /** ARGV now, version, metadata, expiresAt → 1 | 0 (the value is kept). */
  sreCacheWriteInfo: `${STATE}
if state(KEYS[1], KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
if ARGV[4] == '' then redis.call('PERSIST', KEYS[1]) else expire(KEYS[1], KEYS[2], ARGV[4]) end
return 1`,
  /** ARGV now, version → 1 (deleted, or already gone) | 0 (changed). */
  sreCacheDelete: `${STATE}
local md = state(KEYS[1], KEYS[2])
if md == nil then return 1 end
if md ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`,
} as const;

/**
 * Many conditional writes in one call (the writes one tick queued, see `RedisBatcher`): KEYS value
 * and metadata per write, ARGV now, then per write mode (n: create, v: at version), version,
 * value, metadata, expiresAt. One result per write: 1 done, 0 not at that version, or `E<error>`
 * for a write that failed alone (its metadata key holds another type), which leaves the others
 * done. Each `redis.call` costs Redis' one thread about a microsecond whatever its size, so the
 * common writes share calls: one `MGET` reads every metadata key, one `EXISTS` per create, one
 * `MSET` writes what passed. A write at a version of ours needs nothing more: its metadata text
 * names it, expiry included (the client refuses a version past its expiry before sending, at the
 * same `now`). Anything else (a key without metadata, an expired one, a wrong type) is decided
 * on its own, after what is pending has been written, as is a second write of a key in one batch.
 */
export const REDIS_CACHE_WRITE_MANY = `${LIVE}
local n = #KEYS / 2
local metas = {}
for i = 1, n do metas[i] = KEYS[2 * i] end
local read = redis.call('MGET', unpack(metas))
local sets, expiries, touched = {}, {}, {}
local function flush()
  if #sets > 0 then redis.call('MSET', unpack(sets)) end
  for j = 1, #expiries, 3 do
    redis.call('PEXPIREAT', expiries[j], expiries[j + 2])
    redis.call('PEXPIREAT', expiries[j + 1], expiries[j + 2])
  end
  sets, expiries, touched = {}, {}, {}
end
-- the key's state, as in state(): nil missing or expired, '' a value without metadata
local function current(kv, km)
  local stored = redis.pcall('GET', km)
  if type(stored) == 'table' then return nil, 'E' .. tostring(stored.err) end
  if redis.call('EXISTS', kv) == 0 then return nil end
  if not stored then return '' end
  return live(kv, km, stored)
end
local out = {}
for i = 1, n do
  local kv, km = KEYS[2 * i - 1], KEYS[2 * i]
  local a = 5 * i - 3
  local mode, version = ARGV[a], ARGV[a + 1]
  local stored = read[i]
  if touched[km] then
    flush()
    stored = nil
  end
  local ok
  if mode == 'v' and version ~= '' and stored ~= nil then
    ok = stored == version
  elseif mode == 'n' and stored == false and redis.call('EXISTS', kv, km) == 0 then
    ok = true
  else
    local state, err = current(kv, km)
    if err then
      ok = err
    elseif mode == 'n' then
      ok = state == nil
    elseif version ~= '' then
      ok = state == version
    else
      ok = state == ''
    end
  end
  if ok == true then
    local at = ARGV[a + 4]
    local s = #sets
    sets[s + 1], sets[s + 2], sets[s + 3], sets[s + 4] = kv, ARGV[a + 2], km, ARGV[a + 3]
    if at ~= '' then
      local e = #expiries
      expiries[e + 1], expiries[e + 2], expiries[e + 3] = kv, km, at
    end
    touched[km] = true
    out[i] = 1
  elseif ok == false then
    out[i] = 0
  else
    out[i] = ok
  end
end
flush()
return out`;

/**
 * The state of many keys in one call (the `readInfo`s one tick queued, see
 * `RedisBatcher`): KEYS value and metadata per key, ARGV now. Three results per key: a tag (0
 * missing or expired, 1 found, 2 failed alone: its metadata key holds another type), then the
 * metadata text ('' for a value without metadata; the error's text for tag 2) and the PTTL of a
 * key the original wrote (-1 for ours). Each key is decided as `state()` decides it, expired keys
 * deleted the same way.
 */
export const REDIS_CACHE_READ_INFO_MANY = `${LIVE}
local out = {}
for i = 1, #KEYS / 2 do
  local kv, km = KEYS[2 * i - 1], KEYS[2 * i]
  local tag, md, ttl = 0, '', -1
  if redis.call('EXISTS', kv) == 1 then
    local stored = redis.pcall('GET', km)
    if type(stored) == 'table' then
      tag, md = 2, tostring(stored.err)
    else
      tag = 1
      if stored then md = live(kv, km, stored) end
      if md == nil then
        tag, md = 0, ''
      elseif string.sub(md, 1, 9) ~= '{"_sre":"' then
        ttl = redis.call('PTTL', kv)
      end
    end
  end
  out[3 * i - 2], out[3 * i - 1], out[3 * i] = tag, md, ttl
end
return out`;

/** Compact ACL text → ACL, remembered: most keys share a handful of ACLs. */
export class ACLCodec {
  private readonly parsed = new Map<string, ACL>();

  parse(compact: string): ACL {
    let acl = this.parsed.get(compact);
    if (acl === undefined) {
      acl = ACL.parse(compact);
      if (this.parsed.size >= 4_096) this.parsed.clear();
      this.parsed.set(compact, acl);
    }
    return acl;
  }
}

/** The metadata text for an entry; `writeId` makes it (the version) new on every write. */
export function encodeMetadata(
  type: ValueType,
  writeId: string,
  expiresAt: number | undefined,
  acl: string,
  user: string,
): string {
  const rest = user === '{}' ? '}' : `,${user.slice(1)}`;
  return `{"_sre":"${type}|${writeId}|${expiresAt ?? ''}","acl":${JSON.stringify(acl)}${rest}`;
}

/** Decodes a key's metadata text (`''`: a value with no metadata key). Throws on text that is not JSON. */
export function decodeMetadata(md: string, acls: ACLCodec): StoredMetadata {
  const ours = OURS.exec(md);
  if (ours) {
    const user = ours[4] === '}' ? '{}' : `{${md.slice(ours[0].length)}`;
    return {
      type: ours[1] as ValueType,
      acl: acls.parse(JSON.parse(ours[3]) as string),
      expiresAt: ours[2] === '' ? undefined : Number(ours[2]),
      user,
    };
  }
  if (md === '') return { type: 's', acl: new ACL(), expiresAt: null, user: '{}' };
  const { acl, ...user } = JSON.parse(md) as Record<string, unknown>;
  return {
    type: 's',
    acl:
      typeof acl === 'string'
        ? acls.parse(acl)
        : acl && typeof acl === 'object'
          ? ACL.fromObject(acl as never)
          : new ACL(),
    expiresAt: null,
    user: JSON.stringify(user),
  };
}

/** The type tag and bytes of a value. */
export function encodeValue(value: CacheData): { type: ValueType; bytes: string | Buffer } {
  if (typeof value === 'string') return { type: 's', bytes: value };
  if (Buffer.isBuffer(value)) return { type: 'b', bytes: value };
  if (typeof value === 'number') return { type: 'n', bytes: Object.is(value, -0) ? '-0' : String(value) };
  if (value === true) return { type: 't', bytes: '' };
  if (value === false) return { type: 'f', bytes: '' };
  if (value === null) return { type: 'z', bytes: '' };
  return { type: 'j', bytes: value.json };
}

export function decodeValue(type: ValueType, bytes: Buffer): CacheData {
  switch (type) {
    case 'b':
      return bytes;
    case 'n':
      return Number(bytes.toString('latin1'));
    case 't':
      return true;
    case 'f':
      return false;
    case 'z':
      return null;
    case 'j':
      return { json: bytes.toString('utf8') };
    default:
      return bytes.toString('utf8');
  }
}
