import type { ConnectorContext, MaybePromise, Version } from '../core/backend';
import { SreBackendError, SreInvalidInputError, SreNotFoundError, type SreErrorSource } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { isPromise } from '../core/service';
import { AccessCandidate, type Level } from '../security/access-candidate';
import { ACL, type AclInput } from '../security/acl';
import { assertNotScopeFolder, scopeOf } from '../security/scope';
import {
  MAX_WRITE_ATTEMPTS,
  OWNER,
  READ,
  SecureService,
  WRITE,
  type SecureServiceDeps,
} from '../security/secure-service';
import type { CacheBackend, CacheData, CacheEntry, CacheInfo, CacheMetadata, CacheValue } from './cache.backend';

export type {
  CacheBackend,
  CacheData,
  CacheEntry,
  CacheInfo,
  CacheInfoUpdate,
  CacheJSON,
  CacheMetadata,
  CacheValue,
} from './cache.backend';

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
   * Creates or replaces the value and its metadata. Creating the key makes the writer its owner,
   * with `acl` as the rest of its ACL. An owner's rewrite sets the ACL to `acl` (or keeps the stored
   * one when omitted) plus every existing owner; a co-writer's rewrite (write access, not owner)
   * keeps the stored ACL and ignores `acl`: a write grant never turns into ownership. Without
   * `ttlSeconds` the key never expires: a TTL set earlier is cleared. Needs write. Keys that name a
   * reserved folder (`teams`, `teams/<T>`, `users/<id>`, ...) are refused. Resolves `true`.
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

/** The longest TTL `set` and `updateTTL` accept: ten years. */
export const CACHE_MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

const RESERVED_METADATA = 'acl';
/** What every `set` resolves with, settled once. */
const TRUE = Promise.resolve(true as const);
const NO_METADATA = '{}';
const OWNER_ONLY_MEMO_LIMIT = 10_000;
const READING = 'reading a cache key';
const WRITING = 'writing a cache key';
const DELETING = 'deleting a cache key';

/** `next(value)`, without a tick when `value` is already there. */
function then<A, B>(value: MaybePromise<A>, next: (value: A) => MaybePromise<B>): MaybePromise<B> {
  return isPromise(value) ? value.then(next) : next(value);
}

/** The requester API is promise-based; a synchronous answer or throw becomes a settled promise. */
function settle<T>(run: () => MaybePromise<T>): Promise<T> {
  try {
    const result = run();
    return isPromise(result) ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Small values with TTL, metadata and ACLs over any `CacheBackend`: what you inject; use
 * `requester(candidate)` for each caller. The access rules, the TTL contract, the value encoding
 * (JSON for objects, copies in and out) and the optimistic concurrency live here once, so every
 * backend behaves the same and none can skip them.
 */
export class CacheService extends SecureService<CacheBackend> {
  private readonly ownerOnlyACLs = new Map<string, ACL>();
  /** The last write queued per key (see `mutate`). */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly errorSource: SreErrorSource = this.source();

  constructor(backend: CacheBackend, context: ConnectorContext | undefined, deps: SecureServiceDeps) {
    super(backend, context, deps);
  }

  requester(candidate: AccessCandidate): CacheRequester {
    return {
      candidate,
      // written out, not through `settle`: see `readSnapshot`
      get: <T>(key: string): Promise<T | undefined> => {
        try {
          this.checkKey(key);
          const value = this.backend.readEntry
            ? this.readSnapshot(candidate, key)
            : this.readData(candidate, key, (version) => this.backend.readValue(key, version), decodeValue);
          return (isPromise(value) ? value : Promise.resolve(value)) as Promise<T | undefined>;
        } catch (error) {
          return Promise.reject(error as Error);
        }
      },
      set: (key, data, acl, metadata, ttlSeconds) => {
        try {
          const value = this.encodeValue(data);
          const text = metadata === undefined || metadata === null ? NO_METADATA : this.encodeMetadata(metadata);
          const expiresAt = this.expiryOf(ttlSeconds);
          const given = acl === undefined ? undefined : ACL.from(acl);
          this.checkKey(key);
          // a key named like a reserved folder (`teams`, `users/<id>`, ...) is refused in every
          // subsystem, whether or not this backend has folders
          assertNotScopeFolder(key, 'cache key', this.errorSource);
          const written = this.mutate(candidate, WRITE, key, (info) => {
            const next = this.nextACL(candidate, key, info?.acl, given);
            return isPromise(next)
              ? next.then((acl) => this.writeEntry(key, { value, acl, metadata: text, expiresAt }, info))
              : this.writeEntry(key, { value, acl: next, metadata: text, expiresAt }, info);
          });
          // a write done at once (see `mutate`) costs no promise of its own
          return written === undefined ? TRUE : written.then(() => true);
        } catch (error) {
          return Promise.reject(error as Error);
        }
      },
      delete: async (key) => {
        this.checkKey(key);
        await this.mutate(
          candidate,
          WRITE,
          key,
          (info) => info === undefined || this.call(DELETING, () => this.backend.delete(key, info.version)),
        );
      },
      exists: (key) =>
        settle(() => {
          this.checkKey(key);
          return this.withInfo(candidate, READ, key, (info) => info !== undefined);
        }),
      getMetadata: (key) =>
        settle(() => {
          this.checkKey(key);
          return this.readData(candidate, key, (version) => this.backend.readMetadata(key, version), decodeMetadata);
        }),
      setMetadata: async (key, metadata) => {
        if (metadata === undefined) throw new SreInvalidInputError('metadata must be a plain object', this.errorSource);
        const patch = this.cleanMetadata(metadata);
        this.encode(patch, 'metadata'); // refuses what cannot be stored before anything is read
        this.checkKey(key);
        // info (and the decision on its ACL) first, then the metadata at that version, then the
        // write at that version: a change in between makes the whole step start over
        await this.mutate(candidate, WRITE, key, (info) => {
          if (info === undefined) throw this.missing(key, 'set metadata of');
          return then(
            this.call(READING, () => this.backend.readMetadata(key, info.version)),
            (current) => {
              if (current === undefined) return false;
              const merged = this.merge(current, patch);
              const update = { acl: info.acl, expiresAt: info.expiresAt, metadata: merged };
              return this.call(WRITING, () => this.backend.writeInfo(key, update, info.version));
            },
          );
        });
      },
      updateTTL: async (key, ttlSeconds) => {
        const expiresAt = this.expiryOf(ttlSeconds);
        this.checkKey(key);
        await this.mutate(candidate, WRITE, key, (info) => {
          if (info === undefined) throw this.missing(key, 'update the TTL of');
          return this.call(WRITING, () => this.backend.writeInfo(key, { acl: info.acl, expiresAt }, info.version));
        });
      },
      getTTL: (key) =>
        settle(() => {
          this.checkKey(key);
          return this.withInfo(candidate, READ, key, (info) => {
            if (info?.expiresAt === undefined) return undefined;
            const left = Math.ceil((info.expiresAt - Date.now()) / 1000);
            return left > 0 ? left : undefined;
          });
        }),
      getACL: (key) =>
        settle(() => {
          this.checkKey(key);
          return this.withInfo(candidate, READ, key, (info) => info?.acl.clone());
        }),
      setACL: async (key, acl) => {
        const next = ACL.from(acl).grant(candidate, 'owner');
        this.checkKey(key);
        await this.mutate(candidate, OWNER, key, (info) => {
          if (info === undefined) throw this.missing(key, 'set the ACL of');
          return this.call(WRITING, () =>
            this.backend.writeInfo(key, { acl: next, expiresAt: info.expiresAt }, info.version),
          );
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

  /** True when `candidate` holds every level in `levels` on `key`. Errors (a bad key, a failing backend) deny. */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], key: string): Promise<boolean> {
    try {
      this.checkKey(key);
      const info = await this.call(READING, () => this.backend.readInfo(key));
      return await this.allows(candidate, levels, key, info?.acl);
    } catch {
      return false;
    }
  }

  /**
   * Reads the key's live info, decides `need` on it, and hands it to `next`. Stays synchronous
   * while the backend answers synchronously and the answer needs no team: a missing key outside the
   * reserved scopes, or an ACL granting the candidate directly (the first answers of `authorize`,
   * taken without a tick: the hot path of a RAM `get`). Everything else goes through `authorize`.
   */
  private withInfo<T>(
    candidate: AccessCandidate,
    need: number,
    key: string,
    next: (info: CacheInfo | undefined) => MaybePromise<T>,
  ): MaybePromise<T> {
    // `call` and `then` written out: no closure while the backend answers at once (a RAM `set`)
    const pending = this.ensureReady();
    if (pending) return pending.then(() => this.withInfo(candidate, need, key, next));
    let info: MaybePromise<CacheInfo | undefined>;
    try {
      info = this.backend.readInfo(key);
    } catch (error) {
      throw this.wrap(error, READING);
    }
    if (isPromise(info))
      return info.then(
        (found) => this.decideOn(candidate, need, key, found, next),
        (error: unknown) => Promise.reject(this.wrap(error, READING)),
      );
    return this.decideOn(candidate, need, key, info, next);
  }

  /** `next(info)` once the candidate holds `need` on the key in that state (a missing key outside any scope: at once). */
  private decideOn<T>(
    candidate: AccessCandidate,
    need: number,
    key: string,
    info: CacheInfo | undefined,
    next: (info: CacheInfo | undefined) => MaybePromise<T>,
  ): MaybePromise<T> {
    if (allowedAtOnce(candidate, need, key, info)) return next(info);
    return this.authorize(candidate, need, key, info?.acl).then(() => next(info));
  }

  /**
   * Data of a key the candidate may read, at the version the decision saw; when the key changed
   * between the two reads, everything is read and decided again (a replaced value may carry an ACL
   * that no longer lets the candidate read it).
   */
  private readData<S, T>(
    candidate: AccessCandidate,
    key: string,
    read: (version: Version) => MaybePromise<S | undefined>,
    decode: (data: S) => T,
    tries = 1,
  ): MaybePromise<T | undefined> {
    return this.withInfo(candidate, READ, key, (info) => {
      if (info === undefined) return undefined;
      return then(
        this.call(READING, () => read(info.version)),
        (data) => {
          if (data === undefined) {
            if (tries === MAX_WRITE_ATTEMPTS) throw this.churning(key);
            return this.readData(candidate, key, read, decode, tries + 1);
          }
          try {
            return decode(data);
          } catch (error) {
            throw this.wrap(error, READING);
          }
        },
      );
    });
  }

  /**
   * `get` over a backend that reads info and value at one instant: one call, decided on that
   * state's ACL. Straight-line code without a closure while the backend answers synchronously (the
   * hot path of a RAM `get`): the shared helpers (`then`, `call`, `settle`) see every operation's
   * closures in an app that also writes, and their calls of those closures turn megamorphic.
   */
  private readSnapshot(candidate: AccessCandidate, key: string): MaybePromise<CacheValue | undefined> {
    const pending = this.ensureReady();
    if (pending) return pending.then(() => this.readSnapshot(candidate, key));
    let found: MaybePromise<{ info: CacheInfo; value: CacheData } | undefined>;
    try {
      found = this.backend.readEntry!(key);
    } catch (error) {
      throw this.wrap(error, READING);
    }
    if (isPromise(found))
      return found.then(
        (entry) => this.decideSnapshot(candidate, key, entry),
        (error: unknown) => Promise.reject(this.wrap(error, READING)),
      );
    return this.decideSnapshot(candidate, key, found);
  }

  private decideSnapshot(
    candidate: AccessCandidate,
    key: string,
    found: { info: CacheInfo; value: CacheData } | undefined,
  ): MaybePromise<CacheValue | undefined> {
    const info = found?.info;
    if (allowedAtOnce(candidate, READ, key, info)) return this.valueIn(found);
    return this.authorize(candidate, READ, key, info?.acl).then(() => this.valueIn(found));
  }

  private valueIn(found: { value: CacheData } | undefined): CacheValue | undefined {
    if (found === undefined) return undefined;
    try {
      return decodeValue(found.value);
    } catch (error) {
      throw this.wrap(error, READING);
    }
  }

  /**
   * Decides access and applies `write` at the version decided on, again while the key keeps
   * changing. Writes to one key from this service run one after another, so that concurrent
   * callers of one process never race each other into retries (other processes still may: the
   * conditional write settles those). A backend's recent state of the key (`peekInfo`) is tried
   * first, once, when it lets the candidate act directly.
   */
  private mutate(
    candidate: AccessCandidate,
    need: number,
    key: string,
    write: (info: CacheInfo | undefined) => MaybePromise<boolean>,
  ): MaybePromise<void> {
    // no write of any key pending (a synchronous backend never has one): no lookup
    const before = this.writing.size === 0 ? undefined : this.writing.get(key);
    if (before !== undefined) {
      const next = () => this.finish(candidate, need, key, write);
      return this.queue(key, before.then(next, next));
    }
    // nothing of this key queued: the first attempt runs now, and one that completes at once (a
    // synchronous backend, an ACL granting directly) never enters the queue: nothing can overlap it.
    // Written out without closures: this is every `set` of a RAM cache.
    let done: MaybePromise<boolean>;
    let made = 0;
    try {
      const guess = this.directGuess(candidate, need, key);
      if (guess !== undefined) done = write(guess);
      else {
        done = this.withInfo(candidate, need, key, write);
        made = 1;
      }
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (done === true) return undefined;
    if (done === false) return this.queue(key, this.decided(candidate, need, key, write, made));
    return this.queue(
      key,
      done.then((ok) => (ok ? undefined : this.decided(candidate, need, key, write, made))),
    );
  }

  /**
   * The backend's recent state of the key when it lets the candidate act directly: what a first
   * attempt writes at (a stale guess fails the conditional write, and the reads that follow decide,
   * with all of their attempts); else the first attempt reads and decides like every later one.
   */
  private directGuess(candidate: AccessCandidate, need: number, key: string): CacheInfo | undefined {
    const guess = this.backend.peekInfo?.(key);
    return guess !== undefined && guess.acl.allowsDirectly(candidate, need) ? guess : undefined;
  }

  /** The first attempt of a queued write (see `directGuess`), then the read-and-decide loop if it did not apply. */
  private async finish(
    candidate: AccessCandidate,
    need: number,
    key: string,
    write: (info: CacheInfo | undefined) => MaybePromise<boolean>,
  ): Promise<void> {
    const guess = this.directGuess(candidate, need, key);
    const done = guess !== undefined ? write(guess) : this.withInfo(candidate, need, key, write);
    if (!(await done)) await this.decided(candidate, need, key, write, guess !== undefined ? 0 : 1);
  }

  /** Reads, decides and writes again while the key keeps changing; `made`: attempts already made. */
  private decided(
    candidate: AccessCandidate,
    need: number,
    key: string,
    write: (info: CacheInfo | undefined) => MaybePromise<boolean>,
    made: number,
  ): Promise<void> {
    return this.retryOnConflict(`cache key '${key}'`, () => this.withInfo(candidate, need, key, write), made);
  }

  /** `backend.write` at the version of `info`, as `call` runs it, without a closure (every `set`). */
  private writeEntry(key: string, entry: CacheEntry, info: CacheInfo | undefined): MaybePromise<boolean> {
    const pending = this.ensureReady();
    if (pending) return pending.then(() => this.writeEntry(key, entry, info));
    let result: MaybePromise<boolean>;
    try {
      result = this.backend.write(key, entry, info?.version);
    } catch (error) {
      throw this.wrap(error, WRITING);
    }
    return isPromise(result) ? result.catch((error: unknown) => Promise.reject(this.wrap(error, WRITING))) : result;
  }

  /** Registers `result` as the last write of `key`: the next write of the key waits for it. */
  private queue(key: string, result: Promise<void>): Promise<void> {
    this.writing.set(key, result);
    const done = () => {
      if (this.writing.get(key) === result) this.writing.delete(key);
    };
    // also what keeps a failed write from being reported as unhandled here: the caller has it
    result.then(done, done);
    return result;
  }

  /**
   * The ACL a `set` stores, on the ACL of the key it replaces (`undefined`: it creates the key):
   * - create: `given` with the writer as owner (without `given`, the creator's shared owner-only ACL);
   * - rewrite by an owner: `given` plus every stored owner, the writer staying owner, so a co-owner
   *   can never evict an owner (W19); without `given` the stored ACL as it is;
   * - rewrite by a co-writer (write, not owner): the stored ACL as it is, `given` ignored. Changing
   *   who may do what needs owner, so a write grant never becomes ownership and the writer keeps
   *   exactly the rights it had.
   * When nothing changes the stored ACL is reused as is: the hot path of re-setting one's own key
   * allocates no ACL.
   */
  private nextACL(
    candidate: AccessCandidate,
    key: string,
    existing: ACL | undefined,
    given: ACL | undefined,
  ): MaybePromise<ACL> {
    // a fresh copy per attempt: a retry must not keep the owners of a state that is gone
    if (!existing) return given === undefined ? this.ownerOnly(candidate) : given.clone().grant(candidate, 'owner');
    if (given === undefined) return existing;
    return then(this.owns(candidate, key, existing), (owner) =>
      owner ? given.clone().merge(existing.owners()).grant(candidate, 'owner') : existing,
    );
  }

  /** Is `candidate` an owner of the key under `acl` (itself, public or its team)? Synchronous unless a team decides. */
  private owns(candidate: AccessCandidate, key: string, acl: ACL): MaybePromise<boolean> {
    if (acl.allowsDirectly(candidate, OWNER)) return true;
    if (!acl.hasTeamEntries()) return false;
    return this.allows(candidate, 'owner', key, acl);
  }

  /**
   * The ACL of a key its creator did not share. ACLs are never mutated once handed to a backend,
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

  private checkKey(key: string): void {
    assertKey(key, 'cache key', this.errorSource);
  }

  /** What a backend stores for `data`: a private copy, so the caller may change `data` afterwards. */
  private encodeValue(data: unknown): CacheData {
    switch (typeof data) {
      case 'string':
      case 'number':
      case 'boolean':
        return data;
      case 'object':
        if (data === null) return null;
        if (data instanceof Uint8Array) return Buffer.from(data);
        return { json: this.encode(data, 'value') };
      default:
        // undefined would be indistinguishable from a missing key; functions, symbols and bigints do not serialise
        throw new SreInvalidInputError(`cannot cache a value of type ${typeof data}`, this.errorSource);
    }
  }

  private encodeMetadata(metadata: CacheMetadata): string {
    return this.encode(this.cleanMetadata(metadata), 'metadata');
  }

  private cleanMetadata(metadata: CacheMetadata | null): CacheMetadata {
    if (metadata === null) return {};
    if (typeof metadata !== 'object' || Array.isArray(metadata) || Buffer.isBuffer(metadata)) {
      throw new SreInvalidInputError('metadata must be a plain object', this.errorSource);
    }
    const clean: CacheMetadata = {};
    for (const key of Object.keys(metadata)) {
      const value = metadata[key];
      if (key !== RESERVED_METADATA && value !== undefined) clean[key] = value;
    }
    return clean;
  }

  private merge(current: string, patch: CacheMetadata): string {
    let stored: CacheMetadata;
    try {
      stored = decodeMetadata(current);
    } catch (error) {
      throw this.wrap(error, READING);
    }
    return this.encode({ ...stored, ...patch }, 'metadata');
  }

  private encode(value: object, what: string): string {
    try {
      return JSON.stringify(value) ?? 'null';
    } catch (error) {
      // circular structures and bigints: the message names the problem, never the data
      throw new SreInvalidInputError(
        `cannot cache this ${what}: ${error instanceof Error ? error.message.split('\n')[0] : 'not JSON-serialisable'}`,
        this.errorSource,
      );
    }
  }

  private expiryOf(ttlSeconds: number | undefined): number | undefined {
    if (ttlSeconds === undefined || ttlSeconds === null) return undefined;
    if (
      typeof ttlSeconds !== 'number' ||
      !Number.isFinite(ttlSeconds) ||
      ttlSeconds <= 0 ||
      ttlSeconds > CACHE_MAX_TTL_SECONDS
    ) {
      throw new SreInvalidInputError(
        `ttlSeconds must be a positive number of seconds, at most ${CACHE_MAX_TTL_SECONDS}`,
        this.errorSource,
      );
    }
    return Date.now() + Math.ceil(ttlSeconds * 1000);
  }

  private missing(key: string, doing: string): SreNotFoundError {
    return new SreNotFoundError(`cannot ${doing} cache key '${key}': it does not exist`, this.errorSource);
  }

  private churning(key: string): SreBackendError {
    return new SreBackendError(
      `${this.label()}: cache key '${key}' kept changing during the read; try again`,
      this.errorSource,
    );
  }
}

/** A fresh copy of a stored value: Buffers copied, JSON parsed. */
/**
 * The first answers of `authorize`, taken without a tick: a missing key outside the reserved
 * scopes, or an ACL granting the candidate directly. `false`: ask `authorize`.
 */
function allowedAtOnce(candidate: AccessCandidate, need: number, key: string, info: CacheInfo | undefined): boolean {
  return info === undefined ? scopeOf(key) === undefined : info.acl.allowsDirectly(candidate, need);
}

function decodeValue(data: CacheData): CacheValue {
  if (typeof data !== 'object' || data === null) return data;
  if (data instanceof Uint8Array) return Buffer.from(data);
  return JSON.parse(data.json) as CacheValue;
}

function decodeMetadata(text: string): CacheMetadata {
  return JSON.parse(text) as CacheMetadata;
}
