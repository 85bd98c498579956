import type { MaybePromise, SreBackend, Version } from '../core/backend';
import type { ACL } from '../security/acl';

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

/** An object or array value as the service encoded it: JSON text. */
export interface CacheJSON {
  readonly json: string;
}

/**
 * A value as a backend stores it: strings, numbers, booleans, `null` and Buffers as they are (a
 * backend must give back the same JS type), objects and arrays as `CacheJSON`. The service encodes
 * and copies on both sides, so a backend may keep the Buffer it is handed and return its own.
 */
export type CacheData = string | number | boolean | null | Buffer | CacheJSON;

/** What every access decision needs of a live key: read on every call, so keep it cheap. */
export interface CacheInfo {
  /** The stored ACL. The service never mutates it; a backend may hand out the instance it holds. */
  readonly acl: ACL;
  /** Epoch milliseconds at which the key expires; `undefined`: never. */
  readonly expiresAt: number | undefined;
  /** Names this state of the key (value, metadata, ACL and expiry together); see `Version`. */
  readonly version: Version;
}

/** Everything `write` stores at once: readers see the old entry or the new one, never a mix. */
export interface CacheEntry {
  readonly value: CacheData;
  /**
   * Kept as is, never mutated: the service shares one instance between the keys of a creator who
   * did not share them (a backend that stores text keeps `acl.serialize()`).
   */
  readonly acl: ACL;
  /** The metadata object as JSON text (`'{}'` for none): store and return it verbatim. */
  readonly metadata: string;
  readonly expiresAt: number | undefined;
}

/** What `writeInfo` replaces; the value, and the metadata when `metadata` is omitted, are kept. */
export interface CacheInfoUpdate {
  readonly acl: ACL;
  readonly expiresAt: number | undefined;
  readonly metadata?: string;
}

/**
 * What a Cache connector implements: plain data operations on keys the service has validated. It
 * makes no access decision: the service reads `readInfo`, decides, and reads or writes at the
 * version it decided on. A key whose `expiresAt` has passed (`<= Date.now()`) is missing for every
 * operation at once, value, metadata and ACL together, whether or not its memory is freed yet.
 * Answers may be plain values instead of promises: the in-memory backend answers synchronously to
 * keep the hot path of `get` free of extra ticks.
 *
 * Concurrency is one rule (see `Version`): reads of data and every write name the version they
 * apply to, and a backend answers `undefined` / `false` when the key is no longer at that version.
 * The service then reads again, decides again and retries. For example `setMetadata` reads the info
 * (and decides on its ACL), then the metadata at that version, then calls `writeInfo` at that
 * version: a concurrent change between the steps makes it start over, so no update is lost and no
 * write outlives an access change it did not see.
 */
export interface CacheBackend extends SreBackend {
  /** ACL, expiry and version of a live key; `undefined` when missing or expired. The hot path of every call. */
  readInfo(key: string): MaybePromise<CacheInfo | undefined>;
  /**
   * Optional: info and value of a live key read at one instant, for a backend where that saves a
   * round trip (the service's `get` then makes one call instead of two). The pair must be one
   * state of the key: the value that `readValue(key, info.version)` gives at that instant.
   */
  readEntry?(key: string): MaybePromise<{ info: CacheInfo; value: CacheData } | undefined>;
  /**
   * Optional, synchronous: the key's state as this backend last saw it (read or wrote), possibly
   * stale, or `undefined` when it has none. The service uses it only to try a write once at that
   * version without reading first (one round trip instead of two); the conditional write refuses
   * it when it is stale, and the service then reads and decides again. Never used for reads.
   */
  peekInfo?(key: string): CacheInfo | undefined;
  /** The value, iff the key is still at `version`; `undefined` when it changed, expired or is gone. */
  readValue(key: string, version: Version): MaybePromise<CacheData | undefined>;
  /** The metadata JSON text, iff the key is still at `version`; `undefined` otherwise. */
  readMetadata(key: string, version: Version): MaybePromise<string | undefined>;
  /**
   * Replaces the whole entry iff the key is still at `ifVersion` (`undefined`: iff there is no live
   * key); `false`, and nothing written, otherwise. A new write gives the key a new version.
   */
  write(key: string, entry: CacheEntry, ifVersion: Version | undefined): MaybePromise<boolean>;
  /** Replaces ACL, expiry and optionally metadata of the key at `ifVersion`, keeping the value; `false` when it changed or is gone. */
  writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): MaybePromise<boolean>;
  /** Removes the key at `ifVersion`; `false` when it changed. A key that is already gone is `true`. */
  delete(key: string, ifVersion: Version): MaybePromise<boolean>;
}

/** Every operation of `CacheBackend` (a custom connector lacking one is refused at boot). */
export const CACHE_OPERATIONS = ['readInfo', 'readValue', 'readMetadata', 'write', 'writeInfo', 'delete'] as const;
