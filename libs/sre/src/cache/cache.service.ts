import { SreBackendError, SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate } from '../security/access-candidate';
import { ACL, AclInput } from '../security/acl';
import { OWNER, READ, SecureConnector, WRITE } from '../security/secure-connector';

/**
 * What a cache holds: text, bytes, numbers, booleans, null, or JSON values. Objects and arrays go
 * through JSON on every backend: what comes back is `JSON.parse(JSON.stringify(value))` (a `Date`
 * becomes a string, functions and `undefined` properties vanish); a circular value is refused. A
 * `Uint8Array` is stored and returned as a `Buffer`.
 */
export type CacheValue =
  string | Buffer | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown };

/** User metadata of a key (JSON values). The ACL is kept apart (see `getACL`); the key `acl` is reserved and dropped. */
export type CacheMetadata = Record<string, unknown>;

/** Metadata and ACL of a key, as `updateEntry` reads and writes them. */
export interface CacheEntryHeader {
  metadata: CacheMetadata;
  acl: ACL;
}

/**
 * The operations of one candidate; every call is checked against the key's ACL. TTLs are in
 * seconds (fractions allowed) on every backend. Values and metadata handed out are copies: changing
 * them never changes the cache, and changing what you passed to `set` after the call does not either.
 */
export interface CacheRequester {
  readonly candidate: AccessCandidate;
  /** The value, or `undefined` when the key does not exist or has expired. Needs read. */
  get<T = CacheValue>(key: string): Promise<T | undefined>;
  /**
   * Creates or replaces the value and its metadata. The ACL becomes `acl` (or the existing one when
   * omitted), plus every existing owner and the writer as owner. Without `ttlSeconds` the key never
   * expires: a TTL set earlier is cleared. Needs write. Resolves `true` (failures throw).
   */
  set(
    key: string,
    data: CacheValue | Uint8Array,
    acl?: AclInput,
    metadata?: CacheMetadata,
    ttlSeconds?: number,
  ): Promise<boolean>;
  /** Removes the key with its metadata and ACL; a missing key is a no-op. Needs write. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  getMetadata(key: string): Promise<CacheMetadata | undefined>;
  /** Shallow-merges into the existing metadata; the ACL and TTL are kept. The key must exist. Needs write. */
  setMetadata(key: string, metadata: CacheMetadata): Promise<void>;
  /**
   * The key now expires `ttlSeconds` from now; without `ttlSeconds` it never expires (the same rule
   * as `set`). The key must exist. Needs write.
   */
  updateTTL(key: string, ttlSeconds?: number): Promise<void>;
  /** Seconds left (rounded up), or `undefined` when the key has no TTL or does not exist. */
  getTTL(key: string): Promise<number | undefined>;
  getACL(key: string): Promise<ACL | undefined>;
  /** Replaces the ACL; the caller stays owner. The key must exist. Needs owner. */
  setACL(key: string, acl: AclInput): Promise<void>;
}

const RESERVED_METADATA = 'acl';
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
const MAX_WRITE_ATTEMPTS = 5;
const OWNER_ONLY_MEMO_LIMIT = 10_000;

/**
 * Small values with TTL, metadata and ACLs: the contract, the injection token, and the base class
 * of every Cache connector. Inject it in your services; use `requester(candidate)` for each caller.
 * The access rules and the TTL contract live here once, so every backend behaves the same.
 */
export abstract class CacheService extends SecureConnector {
  // The backend: what a connector implements. Keys are validated and access is checked before these
  // run, so they stay protected: holding a CacheService never bypasses the ACLs. An expired key is a
  // missing key for every method (value, metadata and ACL go together). Plain values may be returned
  // instead of promises (the in-memory connector does, to keep its hot path free of extra ticks).

  /** The ACL of a live key, or `undefined` when it is missing or expired. The base never mutates it. */
  protected abstract readACL(key: string): Promise<ACL | undefined> | ACL | undefined;
  /** A copy of the value, or `undefined`. */
  protected abstract readValue(key: string): Promise<CacheValue | undefined> | CacheValue | undefined;
  /** A copy of the metadata, or `undefined`. */
  protected abstract readMetadata(key: string): Promise<CacheMetadata | undefined> | CacheMetadata | undefined;
  /** Epoch milliseconds at which the key expires; `undefined` when it has no TTL or is missing. */
  protected abstract readExpiry(key: string): Promise<number | undefined> | number | undefined;

  // Writes are conditional: `expected` is the ACL the access decision saw (`undefined`: the key did
  // not exist). A connector applies a write only while the key's ACL is still that one (by identity,
  // or by `serialize()` for backends that store text) and otherwise resolves `false`; the base then
  // decides access again. So a concurrent `setACL` or creation can never be overtaken by a write
  // that was authorised against the old state (W19).

  /**
   * Replaces value, metadata, ACL and expiry in one step (readers never see a mix). `expiresAt`
   * `undefined` means no expiry. The connector stores copies of `value` and `metadata`; it may keep
   * `acl` as is but must never mutate it (the base shares one ACL instance between keys).
   */
  protected abstract writeEntry(
    key: string,
    value: CacheValue,
    acl: ACL,
    metadata: CacheMetadata,
    expiresAt: number | undefined,
    expected: ACL | undefined,
  ): Promise<boolean> | boolean;
  /** Removes value, metadata and ACL; `true` when removed or already gone. */
  protected abstract deleteEntry(key: string, expected: ACL): Promise<boolean> | boolean;
  /**
   * Read-modify-write of a live key's metadata and ACL, keeping value and expiry, applied atomically
   * (no lost update between two concurrent calls). `false` when the key is missing or changed.
   */
  protected abstract updateEntry(
    key: string,
    expected: ACL,
    update: (current: CacheEntryHeader) => CacheEntryHeader,
  ): Promise<boolean> | boolean;
  /** Sets (or with `undefined` clears) a live key's expiry. `false` when the key is missing or changed. */
  protected abstract expireEntry(key: string, expected: ACL, expiresAt: number | undefined): Promise<boolean> | boolean;

  private readonly ownerOnlyACLs = new Map<string, ACL>();

  protected getResourceACL(key: string): Promise<ACL | undefined> | ACL | undefined {
    return this.readACL(key);
  }

  requester(candidate: AccessCandidate): CacheRequester {
    const source = this.source();
    const check = (key: string, need: number): Promise<ACL | undefined> => {
      assertKey(key, 'cache key', source);
      return this.authorize(candidate, need, key);
    };
    return {
      candidate,
      get: async <T>(key: string) =>
        (await check(key, READ)) ? ((await this.readValue(key)) as T | undefined) : undefined,
      set: async (key, data, acl, metadata, ttlSeconds) => {
        const value = this.checkValue(data);
        const clean = this.cleanMetadata(metadata);
        const expiresAt = this.expiryOf(ttlSeconds);
        assertKey(key, 'cache key', source);
        await this.mutate(candidate, WRITE, key, (existing) =>
          this.writeEntry(key, value, this.nextACL(candidate, existing, acl), clean, expiresAt, existing),
        );
        return true;
      },
      delete: async (key) => {
        assertKey(key, 'cache key', source);
        await this.mutate(
          candidate,
          WRITE,
          key,
          (existing) => existing === undefined || this.deleteEntry(key, existing),
        );
      },
      exists: async (key) => (await check(key, READ)) !== undefined,
      getMetadata: async (key) => ((await check(key, READ)) ? await this.readMetadata(key) : undefined),
      setMetadata: async (key, metadata) => {
        if (metadata === undefined) throw new SreInvalidInputError('metadata must be a plain object', source);
        const patch = this.cleanMetadata(metadata);
        assertKey(key, 'cache key', source);
        await this.mutate(candidate, WRITE, key, (existing) => {
          if (!existing) throw this.missing(key, 'set metadata of');
          return this.updateEntry(key, existing, (current) => ({
            acl: current.acl,
            metadata: { ...current.metadata, ...patch },
          }));
        });
      },
      updateTTL: async (key, ttlSeconds) => {
        const expiresAt = this.expiryOf(ttlSeconds);
        assertKey(key, 'cache key', source);
        await this.mutate(candidate, WRITE, key, (existing) => {
          if (!existing) throw this.missing(key, 'update the TTL of');
          return this.expireEntry(key, existing, expiresAt);
        });
      },
      getTTL: async (key) => {
        if (!(await check(key, READ))) return undefined;
        const expiresAt = await this.readExpiry(key);
        if (expiresAt === undefined) return undefined;
        const left = Math.ceil((expiresAt - Date.now()) / 1000);
        return left > 0 ? left : undefined;
      },
      getACL: async (key) => (await check(key, READ))?.clone(),
      setACL: async (key, acl) => {
        const next = ACL.from(acl).grant(candidate, 'owner');
        assertKey(key, 'cache key', source);
        await this.mutate(candidate, OWNER, key, (existing) => {
          if (!existing) throw this.missing(key, 'set the ACL of');
          return this.updateEntry(key, existing, (current) => ({ metadata: current.metadata, acl: next }));
        });
      },
    };
  }

  user(id: string): CacheRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): CacheRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): CacheRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  /**
   * Decides access, then applies `write` against the ACL the decision saw; when the connector
   * reports that the key changed in between, decides again (the key may now be denied or gone).
   */
  private async mutate(
    candidate: AccessCandidate,
    need: number,
    key: string,
    write: (existing: ACL | undefined) => Promise<boolean> | boolean,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const existing = await this.authorize(candidate, need, key);
      if (await write(existing)) return;
      if (attempt === MAX_WRITE_ATTEMPTS) {
        throw new SreBackendError(
          `${this.label()}: cache key '${key}' kept changing during the write; try again`,
          this.source(),
        );
      }
    }
  }

  /**
   * The ACL a `set` stores: the given one (or the existing one), keeping every existing owner, with
   * the writer as owner, so a co-writer can never evict an owner (W19). When nothing changes the
   * stored ACL is reused as is: the hot path of re-setting one's own key allocates no ACL.
   */
  private nextACL(candidate: AccessCandidate, existing: ACL | undefined, acl: AclInput | undefined): ACL {
    if (acl === undefined) {
      if (!existing) return this.ownerOnly(candidate);
      return existing.checkExactAccess(candidate, 'owner') ? existing : existing.clone().grant(candidate, 'owner');
    }
    const next = ACL.from(acl);
    if (existing) next.merge(existing.owners());
    return next.grant(candidate, 'owner');
  }

  /**
   * The ACL of a key its creator did not share. ACLs are never mutated once handed to a connector,
   * so one instance per candidate is shared by all their keys: the RAM connector then holds a small
   * entry in ~285 bytes instead of ~710 (measured with 100 000 keys).
   */
  private ownerOnly(candidate: AccessCandidate): ACL {
    const id = candidate.toString();
    let acl = this.ownerOnlyACLs.get(id);
    if (acl === undefined) {
      acl = new ACL().grant(candidate, 'owner');
      // candidates are few; a full reset keeps the memo bounded without LRU bookkeeping
      if (this.ownerOnlyACLs.size >= OWNER_ONLY_MEMO_LIMIT) this.ownerOnlyACLs.clear();
      this.ownerOnlyACLs.set(id, acl);
    }
    return acl;
  }

  private checkValue(data: unknown): CacheValue {
    switch (typeof data) {
      case 'string':
      case 'number':
      case 'boolean':
        return data as CacheValue;
      case 'object':
        return data instanceof Uint8Array && !Buffer.isBuffer(data) ? Buffer.from(data) : (data as CacheValue);
      default:
        // undefined would be indistinguishable from a missing key; functions, symbols and bigints do not serialise
        throw new SreInvalidInputError(`cannot cache a value of type ${typeof data}`, this.source());
    }
  }

  private expiryOf(ttlSeconds: number | undefined): number | undefined {
    if (ttlSeconds === undefined || ttlSeconds === null) return undefined;
    if (
      typeof ttlSeconds !== 'number' ||
      !Number.isFinite(ttlSeconds) ||
      ttlSeconds <= 0 ||
      ttlSeconds > MAX_TTL_SECONDS
    ) {
      throw new SreInvalidInputError(
        `ttlSeconds must be a positive number of seconds, at most ${MAX_TTL_SECONDS}`,
        this.source(),
      );
    }
    return Date.now() + Math.ceil(ttlSeconds * 1000);
  }

  private cleanMetadata(metadata: CacheMetadata | undefined): CacheMetadata {
    if (metadata === undefined || metadata === null) return {};
    if (typeof metadata !== 'object' || Array.isArray(metadata) || Buffer.isBuffer(metadata)) {
      throw new SreInvalidInputError('metadata must be a plain object', this.source());
    }
    const clean: CacheMetadata = {};
    for (const key of Object.keys(metadata)) {
      const value = metadata[key];
      if (key !== RESERVED_METADATA && value !== undefined) clean[key] = value;
    }
    return clean;
  }

  private missing(key: string, doing: string): SreNotFoundError {
    return new SreNotFoundError(`cannot ${doing} cache key '${key}': it does not exist`, this.source());
  }
}
