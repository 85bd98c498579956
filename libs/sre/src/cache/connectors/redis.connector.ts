import { IsOptional, Matches } from 'class-validator';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createConnectorContext, labelOf, sourceOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { redisLinkFor } from '../../core/redis/redis-connection';
import type { RedisLink } from '../../core/redis/redis-link';
import { RedisConnectionSettings } from '../../core/redis/redis-settings';
import type { ACL } from '../../security/acl';
import type { CacheBackend, CacheData, CacheEntry, CacheInfo, CacheInfoUpdate } from '../cache.backend';
import {
  ACLCodec,
  decodeMetadata,
  decodeValue,
  encodeMetadata,
  encodeValue,
  REDIS_CACHE_SCRIPTS,
  type StoredMetadata,
} from './redis-cache-format';

export class RedisCacheSettings extends RedisConnectionSettings {
  /**
   * First part of every key: `<prefix>:cache:<key>` and `<prefix>:metadata:<key>`. The original's
   * is `smyth` (it documented the setting but ignored it); two applications with different
   * prefixes never see each other's keys.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.\-:{}]{1,100}$/, { message: 'must be 1-100 of A-Z a-z 0-9 _ . - : { }' })
  prefix?: string = 'smyth';
}

/** A key's state as read: its metadata text (what the scripts compare) and what it says. */
interface RedisVersion {
  readonly md: string;
  readonly meta: StoredMetadata;
}

/** Our scripts as ioredis commands (`defineCommand`), with their Buffer-returning twins. */
type ScriptClient = Redis & {
  [name in keyof typeof REDIS_CACHE_SCRIPTS]: (...args: (string | Buffer | number)[]) => Promise<unknown>;
} & {
  sreCacheReadBuffer(...args: (string | Buffer | number)[]): Promise<[Buffer, null, number] | null>;
  sreCacheAtBuffer(...args: (string | Buffer | number)[]): Promise<Buffer | number | null>;
};

/** Keys whose latest state `peekInfo` remembers. */
const RECENT_KEYS = 10_000;

/** Keys the original's NKV keeps in the same keyspace: `team_<id>:<namespace>:<key>`. */
const NKV_KEY = /^team_[^:]*:/;

function isRedisVersion(version: Version): version is RedisVersion {
  return typeof (version as RedisVersion | undefined)?.md === 'string';
}

/**
 * Cache on Redis, in the original's key layout (see `redis-cache-format`), standalone or through
 * Sentinel. Value, metadata, ACL and expiry change together in one Lua script, conditional on the
 * key's version (its metadata text), so concurrent writers from any number of processes lose no
 * update. TTLs are exact: `PEXPIREAT` on both keys at the entry's `expiresAt`.
 */
export class RedisCacheConnector implements CacheBackend {
  static readonly connectorName = 'Redis';
  static readonly settingsClass = RedisCacheSettings;

  readonly link: RedisLink;
  private readonly owned: boolean;
  private readonly client: ScriptClient;
  private readonly valuePrefix: string;
  private readonly metadataPrefix: string;
  private readonly acls = new ACLCodec();
  private readonly writePrefix = randomBytes(6).toString('base64url');
  private writes = 0;
  /** Latest state seen per key, for `peekInfo`. */
  private readonly recent = new Map<string, CacheInfo>();
  private readonly label: string;

  constructor(
    settings: Partial<RedisCacheSettings> = {},
    private readonly context: ConnectorContext<{ redis?: RedisLink }> = createConnectorContext({
      subsystem: 'Cache',
      connector: 'Redis',
    }),
  ) {
    ({ link: this.link, owned: this.owned } = redisLinkFor(Object.assign(new RedisCacheSettings(), settings), context));
    this.label = labelOf(context);
    const prefix = settings.prefix ?? 'smyth';
    this.valuePrefix = `${prefix}:cache:`;
    this.metadataPrefix = `${prefix}:metadata:`;
    this.client = this.link.client as ScriptClient;
    for (const [name, lua] of Object.entries(REDIS_CACHE_SCRIPTS))
      if (typeof (this.client as unknown as Record<string, unknown>)[name] !== 'function')
        this.client.defineCommand(name, { lua, numberOfKeys: 2 });
  }

  /** Where the keys live, e.g. `smyth:cache:` (the NKV connector on the same Redis shares it). */
  get keyPrefix(): string {
    return this.valuePrefix;
  }

  connect(): Promise<void> {
    return this.link.connect(this.label);
  }

  async disconnect(): Promise<void> {
    if (this.owned) await this.link.close();
  }

  ping(): Promise<void> {
    return this.link.ping(this.label);
  }

  async readInfo(key: string): Promise<CacheInfo | undefined> {
    const reply = await this.exec((c) => c.sreCacheReadBuffer(...this.keys(key), Date.now(), '0'));
    return reply ? this.remember(key, this.infoOf(key, reply[0], reply[2])) : this.forget(key);
  }

  /**
   * Info and value in one round trip, read at one instant: `MGET` of both keys (no script). A key
   * the original wrote (its expiry is Redis' TTL) takes a second round trip for the TTL.
   */
  async readEntry(key: string): Promise<{ info: CacheInfo; value: CacheData } | undefined> {
    const now = Date.now();
    const [value, md] = await this.exec((c) => c.mgetBuffer(...this.keys(key)));
    if (value === null) return this.forget(key);
    let info = this.infoOf(key, md ?? Buffer.alloc(0), -1);
    if (info.expiresAt !== undefined && info.expiresAt <= now) return this.forget(key);
    if ((info.version as RedisVersion).meta.expiresAt === null) {
      const ttl = await this.exec((c) => c.pttl(this.keys(key)[0]));
      info = this.infoOf(key, md ?? Buffer.alloc(0), ttl);
    }
    this.remember(key, info);
    return { info, value: decodeValue((info.version as RedisVersion).meta.type, value) };
  }

  peekInfo(key: string): CacheInfo | undefined {
    return this.recent.get(key);
  }

  async readValue(key: string, version: Version): Promise<CacheData | undefined> {
    if (!isRedisVersion(version)) return undefined;
    const bytes = await this.exec((c) => c.sreCacheAtBuffer(...this.keys(key), Date.now(), version.md, '1'));
    return Buffer.isBuffer(bytes) ? decodeValue(version.meta.type, bytes) : undefined;
  }

  async readMetadata(key: string, version: Version): Promise<string | undefined> {
    if (!isRedisVersion(version)) return undefined;
    const at = await this.exec((c) => c.sreCacheAt(...this.keys(key), Date.now(), version.md, '0'));
    return at === 1 ? version.meta.user : undefined;
  }

  async write(key: string, entry: CacheEntry, ifVersion: Version | undefined): Promise<boolean> {
    this.refuseNKVKey(key);
    if (ifVersion !== undefined && !isRedisVersion(ifVersion)) return false;
    const { type, bytes } = encodeValue(entry.value);
    const md = encodeMetadata(type, this.writeId(), entry.expiresAt, this.compact(entry.acl), entry.metadata);
    const mode = ifVersion === undefined ? 'n' : 'v';
    const done = await this.exec((c) =>
      c.sreCacheWrite(...this.keys(key), Date.now(), mode, ifVersion?.md ?? '', bytes, md, entry.expiresAt ?? ''),
    );
    if (done !== 1) return this.stale(key);
    this.remember(key, { acl: entry.acl, expiresAt: entry.expiresAt, version: this.versionOf(md) });
    return true;
  }

  async writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): Promise<boolean> {
    if (!isRedisVersion(ifVersion)) return false;
    const { meta } = ifVersion;
    const user = update.metadata ?? meta.user;
    const md = encodeMetadata(meta.type, this.writeId(), update.expiresAt, this.compact(update.acl), user);
    const done = await this.exec((c) =>
      c.sreCacheWriteInfo(...this.keys(key), Date.now(), ifVersion.md, md, update.expiresAt ?? ''),
    );
    if (done !== 1) return this.stale(key);
    this.remember(key, { acl: update.acl, expiresAt: update.expiresAt, version: this.versionOf(md) });
    return true;
  }

  async delete(key: string, ifVersion: Version): Promise<boolean> {
    const md = isRedisVersion(ifVersion) ? ifVersion.md : '\u0000none';
    const done = (await this.exec((c) => c.sreCacheDelete(...this.keys(key), Date.now(), md))) === 1;
    this.forget(key);
    return done;
  }

  /** The info of a key from its metadata bytes; `pttl` (ms, -1 none) is the expiry of the original's keys. */
  private infoOf(key: string, md: Buffer, pttl: number): CacheInfo {
    const version = this.versionOf(md.toString('utf8'), key);
    const { meta } = version;
    // the original's keys carry no expiry of ours: Redis' TTL (-1: none) is theirs
    const expiresAt = meta.expiresAt === null ? (pttl > 0 ? Date.now() + pttl : undefined) : meta.expiresAt;
    return { acl: meta.acl, expiresAt, version };
  }

  private versionOf(md: string, key?: string): RedisVersion {
    try {
      return { md, meta: decodeMetadata(md, this.acls) };
    } catch {
      // never quotes the text: metadata may hold anything
      throw new SreInvalidInputError(`cache key '${key}': its metadata in Redis is not JSON`, sourceOf(this.context));
    }
  }

  /** Keeps the latest state seen of a key for `peekInfo` (bounded: the oldest goes first). */
  private remember(key: string, info: CacheInfo): CacheInfo {
    this.recent.delete(key);
    if (this.recent.size >= RECENT_KEYS) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(key, info);
    return info;
  }

  private forget(key: string): undefined {
    this.recent.delete(key);
    return undefined;
  }

  private stale(key: string): false {
    this.recent.delete(key);
    return false;
  }

  private exec<T>(fn: (client: ScriptClient) => Promise<T>): Promise<T> {
    return this.link.run(() => fn(this.client), this.label);
  }

  private keys(key: string): [string, string] {
    return [this.valuePrefix + key, this.metadataPrefix + key];
  }

  private writeId(): string {
    return `${this.writePrefix}${(this.writes++).toString(36)}`;
  }

  private compact(acl: ACL): string {
    return acl.serialize();
  }

  /** A cache key shaped like an NKV entry of the same keyspace would overwrite another subsystem's data. */
  private refuseNKVKey(key: string): void {
    if (NKV_KEY.test(key))
      throw new SreInvalidInputError(
        `cache key '${key}': keys starting with 'team_<id>:' hold NKV data in this Redis layout`,
        sourceOf(this.context),
      );
  }
}
