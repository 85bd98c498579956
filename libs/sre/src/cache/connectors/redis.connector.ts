import { IsOptional, Matches } from 'class-validator';
import { randomBytes } from 'node:crypto';
import {
  createConnectorContext,
  sourceOf,
  type ConnectorContext,
  type MaybePromise,
  type Version,
} from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { RedisConnectorLink } from '../../core/redis/redis-connection';
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
  type StoredMetadata,
} from './redis-cache-format';
import {
  cacheInfoBatch,
  cacheReadBatch,
  cacheWriteBatch,
  defineCacheScripts,
  type ScriptClient,
  type WriteItem,
} from './redis-cache-batches';
import { RecentStates } from './recent-states';
import type { RedisBatchKind } from '../../core/redis/redis-batch';

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

const EMPTY = Buffer.alloc(0);

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

  private readonly redis: RedisConnectorLink;
  private readonly client: ScriptClient;
  private readonly valuePrefix: string;
  private readonly metadataPrefix: string;
  private readonly acls = new ACLCodec();
  private readonly writePrefix = randomBytes(6).toString('base64url');
  private writes = 0;
  private readonly compacts = new WeakMap<ACL, { version: number; text: string }>();
  /** Latest state seen per key, for `peekInfo`. */
  private readonly recent = new RecentStates<CacheInfo>(RECENT_KEYS);

  constructor(
    settings: Partial<RedisCacheSettings> = {},
    private readonly context: ConnectorContext<{ redis?: RedisLink }> = createConnectorContext({
      subsystem: 'Cache',
      connector: 'Redis',
    }),
  ) {
    this.redis = new RedisConnectorLink(Object.assign(new RedisCacheSettings(), settings), context);
    const prefix = settings.prefix ?? 'smyth';
    this.valuePrefix = `${prefix}:cache:`;
    this.metadataPrefix = `${prefix}:metadata:`;
    this.client = defineCacheScripts(this.redis.link.client);
    const names = { valuePrefix: this.valuePrefix, metadataPrefix: this.metadataPrefix };
    this.writeBatch = cacheWriteBatch(names);
    this.readBatch = cacheReadBatch(names);
    this.infoBatch = cacheInfoBatch(names);
  }

  private readonly writeBatch: RedisBatchKind<WriteItem, number>;
  private readonly readBatch: RedisBatchKind<string, [Buffer | null, Buffer | null]>;
  private readonly infoBatch: RedisBatchKind<string, [Buffer, number] | null>;

  /** Where the keys live, e.g. `smyth:cache:` (the NKV connector on the same Redis shares it). */
  get keyPrefix(): string {
    return this.valuePrefix;
  }

  /** The client this connector sends through (shared with NKV `Redis` on one connection). */
  get link(): RedisLink {
    return this.redis.link;
  }

  connect(): Promise<void> {
    return this.redis.connect();
  }

  disconnect(): Promise<void> {
    return this.redis.close();
  }

  ping(): Promise<void> {
    return this.redis.ping();
  }

  /** The key's state without its value, shared with the other `readInfo`s of the tick (one script call). */
  readInfo(key: string): Promise<CacheInfo | undefined> {
    return this.redis.batch(this.infoBatch, key, (found) =>
      found ? this.recent.remember(key, this.infoOf(key, found[0], found[1])) : this.recent.forget(key),
    );
  }

  /**
   * Info and value in one round trip, read at one instant: `MGET` of both keys (no script), shared
   * with the other reads of the tick. A key the original wrote (its expiry is Redis' TTL) takes a
   * second round trip for the TTL.
   */
  readEntry(key: string): Promise<{ info: CacheInfo; value: CacheData } | undefined> {
    const now = Date.now();
    return this.redis.batch(
      this.readBatch,
      key,
      ([value, md]): MaybePromise<{ info: CacheInfo; value: CacheData } | undefined> => {
        if (value === null) return this.recent.forget(key);
        const info = this.infoOf(key, md ?? EMPTY, -1);
        if (info.expiresAt !== undefined && info.expiresAt <= now) return this.recent.forget(key);
        const { type, expiresAt } = (info.version as RedisVersion).meta;
        if (expiresAt !== null) return { info: this.recent.remember(key, info), value: decodeValue(type, value) };
        return this.redis.exec(
          () => this.client.pttl(this.valuePrefix + key),
          (ttl) => ({
            info: this.recent.remember(key, this.infoOf(key, md ?? EMPTY, ttl)),
            value: decodeValue(type, value),
          }),
        );
      },
    );
  }

  peekInfo(key: string): CacheInfo | undefined {
    const info = this.recent.get(key);
    return info !== undefined && (info.expiresAt === undefined || info.expiresAt > Date.now()) ? info : undefined;
  }

  readValue(key: string, version: Version): Promise<CacheData | undefined> {
    if (!isRedisVersion(version)) return Promise.resolve(undefined);
    return this.redis.exec(
      () =>
        this.client.sreCacheAtBuffer(this.valuePrefix + key, this.metadataPrefix + key, Date.now(), version.md, '1'),
      (bytes) => (Buffer.isBuffer(bytes) ? decodeValue(version.meta.type, bytes) : undefined),
    );
  }

  readMetadata(key: string, version: Version): Promise<string | undefined> {
    if (!isRedisVersion(version)) return Promise.resolve(undefined);
    return this.redis.exec(
      () => this.client.sreCacheAt(this.valuePrefix + key, this.metadataPrefix + key, Date.now(), version.md, '0'),
      (at) => (at === 1 ? version.meta.user : undefined),
    );
  }

  write(key: string, entry: CacheEntry, ifVersion: Version | undefined): Promise<boolean> {
    if (NKV_KEY.test(key)) return Promise.reject(this.nkvKeyRefused(key));
    if (ifVersion !== undefined && !isRedisVersion(ifVersion)) return Promise.resolve(false);
    const { type, bytes } = encodeValue(entry.value);
    const { acl, expiresAt, metadata } = entry;
    const md = encodeMetadata(type, this.writeId(), expiresAt, this.compact(acl), metadata);
    const item: WriteItem = {
      key,
      mode: ifVersion === undefined ? 'n' : 'v',
      version: ifVersion?.md ?? '',
      versionExpiresAt: ifVersion?.meta.expiresAt,
      bytes,
      md,
      expiresAt: expiresAt ?? '',
    };
    return this.redis.batch(this.writeBatch, item, (done) => this.wrote(key, done, acl, expiresAt, md, type, metadata));
  }

  writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): Promise<boolean> {
    if (!isRedisVersion(ifVersion)) return Promise.resolve(false);
    const { type, user } = ifVersion.meta;
    const { acl, expiresAt } = update;
    const metadata = update.metadata ?? user;
    const md = encodeMetadata(type, this.writeId(), expiresAt, this.compact(acl), metadata);
    return this.redis.exec(
      () =>
        this.client.sreCacheWriteInfo(
          this.valuePrefix + key,
          this.metadataPrefix + key,
          Date.now(),
          ifVersion.md,
          md,
          expiresAt ?? '',
        ),
      (done) => this.wrote(key, done, acl, expiresAt, md, type, metadata),
    );
  }

  /** After a conditional write: the state it made is remembered (`peekInfo`), or the stale one dropped. */
  private wrote(
    key: string,
    done: unknown,
    acl: ACL,
    expiresAt: number | undefined,
    md: string,
    type: StoredMetadata['type'],
    user: string,
  ): boolean {
    if (done !== 1) return this.recent.forget(key) ?? false;
    this.recent.remember(key, { acl, expiresAt, version: { md, meta: { type, acl, expiresAt, user } } });
    return true;
  }

  delete(key: string, ifVersion: Version): Promise<boolean> {
    const md = isRedisVersion(ifVersion) ? ifVersion.md : '\u0000none';
    this.recent.forget(key);
    return this.redis.exec(
      () => this.client.sreCacheDelete(this.valuePrefix + key, this.metadataPrefix + key, Date.now(), md),
      (done) => done === 1,
    );
  }

  /**
   * The info of a key from its metadata bytes; `pttl` (ms, -1 none) is the expiry of the original's
   * keys. The same metadata text as last seen is the same state (every write makes a new one): the
   * remembered info is reused, nothing parsed.
   */
  private infoOf(key: string, bytes: Buffer, pttl: number): CacheInfo {
    const md = bytes.toString('utf8');
    const known = this.recent.get(key);
    if (known !== undefined && (known.version as RedisVersion).md === md && pttl < 0) return known;
    const version = this.versionOf(md, key);
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

  private writeId(): string {
    return `${this.writePrefix}${(this.writes++).toString(36)}`;
  }

  /** The compact text of an ACL, made once per ACL state (the service shares ACL instances between keys). */
  private compact(acl: ACL): string {
    const known = this.compacts.get(acl);
    if (known !== undefined && known.version === acl.version) return known.text;
    const text = acl.serialize();
    this.compacts.set(acl, { version: acl.version, text });
    return text;
  }

  /** A cache key shaped like an NKV entry of the same keyspace would overwrite another subsystem's data. */
  private nkvKeyRefused(key: string): SreInvalidInputError {
    return new SreInvalidInputError(
      `cache key '${key}': keys starting with 'team_<id>:' hold NKV data in this Redis layout`,
      sourceOf(this.context),
    );
  }
}
