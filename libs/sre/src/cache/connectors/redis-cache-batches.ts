import type { Redis } from 'ioredis';
import type { RedisBatchKind } from '../../core/redis/redis-batch';
import { REDIS_CACHE_READ_INFO_MANY, REDIS_CACHE_SCRIPTS, REDIS_CACHE_WRITE_MANY } from './redis-cache-format';

/** Our scripts as ioredis commands (`defineCommand`), with their Buffer-returning twins. */
export type ScriptClient = Redis & {
  [name in keyof typeof REDIS_CACHE_SCRIPTS]: (...args: (string | Buffer | number)[]) => Promise<unknown>;
} & {
  sreCacheAtBuffer(...args: (string | Buffer | number)[]): Promise<Buffer | number | null>;
  sreCacheWriteMany(keyCount: number, keys: string[], args: (string | Buffer | number)[]): Promise<(number | string)[]>;
  sreCacheReadInfoManyBuffer(keyCount: number, keys: string[], now: number): Promise<(number | Buffer)[]>;
};

/** One conditional write of a batch (see `REDIS_CACHE_WRITE_MANY`). */
export interface WriteItem {
  key: string;
  mode: 'n' | 'v';
  version: string;
  /** The expiry of the version a `v` write expects, from its parsed metadata (see `send`). */
  versionExpiresAt?: number | null;
  bytes: string | Buffer;
  md: string;
  expiresAt: number | '';
}

/** Where a connector's keys live: `<prefix>:cache:` and `<prefix>:metadata:`. */
export interface CacheKeyNames {
  readonly valuePrefix: string;
  readonly metadataPrefix: string;
}

/** Value and metadata key of each of `keys`, in that order. */
function keyPairs(where: CacheKeyNames, keys: readonly string[]): string[] {
  const names: string[] = [];
  for (const key of keys) names.push(where.valuePrefix + key, where.metadataPrefix + key);
  return names;
}

/** The client with the Cache scripts defined on it (once per client: NKV and Cache may share one). */
export function defineCacheScripts(redis: Redis): ScriptClient {
  const client = redis as ScriptClient;
  for (const [name, lua] of Object.entries(REDIS_CACHE_SCRIPTS))
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function')
      client.defineCommand(name, { lua, numberOfKeys: 2 });
  // the key count is the call's first argument: one call carries any number of keys
  if (typeof client.sreCacheWriteMany !== 'function')
    client.defineCommand('sreCacheWriteMany', { lua: REDIS_CACHE_WRITE_MANY });
  if (typeof client.sreCacheReadInfoManyBuffer !== 'function')
    client.defineCommand('sreCacheReadInfoMany', { lua: REDIS_CACHE_READ_INFO_MANY });
  return client;
}

/** The writes of one tick as one script call (`REDIS_CACHE_WRITE_MANY`): one result per write. */
export function cacheWriteBatch(where: CacheKeyNames): RedisBatchKind<WriteItem, number> {
  return {
    send: async (client, items) => {
      const now = Date.now();
      // a version past its expiry at this `now` (the one the script gets) is no live state: refused
      // here, as the script would refuse it, without a Lua pattern match on Redis' single thread
      const live = (item: WriteItem) =>
        item.mode !== 'v' || typeof item.versionExpiresAt !== 'number' || item.versionExpiresAt > now;
      const sent = items.filter(live);
      const keys: string[] = [];
      const args: (string | Buffer | number)[] = [now];
      for (const { key, mode, version, bytes, md, expiresAt } of sent) {
        keys.push(where.valuePrefix + key, where.metadataPrefix + key);
        args.push(mode, version, bytes, md, expiresAt);
      }
      const results =
        sent.length === 0 ? [] : await (client as ScriptClient).sreCacheWriteMany(keys.length, keys, args);
      const answers = results.map((r) => (typeof r === 'string' ? new Error(r.slice(1)) : r));
      if (sent.length === items.length) return answers;
      let next = 0;
      return items.map((item) => (live(item) ? answers[next++] : 0));
    },
    size: (item) => item.bytes.length + item.md.length + item.version.length + 2 * item.key.length,
  };
}

/** The `readEntry`s of one tick as one `MGET` (value and metadata of each key). */
export function cacheReadBatch(where: CacheKeyNames): RedisBatchKind<string, [Buffer | null, Buffer | null]> {
  return {
    send: (client, keys) => {
      return client
        .mgetBuffer(keyPairs(where, keys))
        .then((replies) => keys.map((_, i) => [replies[2 * i], replies[2 * i + 1]]));
    },
    size: (key) => 2 * key.length,
  };
}

/**
 * The `readInfo`s of one tick as one script call (`REDIS_CACHE_READ_INFO_MANY`): per key its
 * metadata and (a key the original wrote) its PTTL, or `null` when missing; a key whose metadata
 * holds another type fails alone.
 */
export function cacheInfoBatch(where: CacheKeyNames): RedisBatchKind<string, [Buffer, number] | null> {
  return {
    send: async (client, keys) => {
      const names = keyPairs(where, keys);
      const flat = await (client as ScriptClient).sreCacheReadInfoManyBuffer(names.length, names, Date.now());
      return keys.map((_, i): [Buffer, number] | null | Error => {
        const tag = flat[3 * i];
        if (tag === 0) return null;
        if (tag === 2) return new Error(String(flat[3 * i + 1]));
        return [flat[3 * i + 1] as Buffer, flat[3 * i + 2] as number];
      });
    },
    size: (key) => 2 * key.length,
  };
}
