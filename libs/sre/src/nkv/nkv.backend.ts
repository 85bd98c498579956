import type { MaybePromise, SreBackend } from '../core/backend';

/**
 * What NKV stores: text, bytes, or a JSON value. Every backend keeps the encoded form made by
 * `encodeNKVValue`, so a value comes back with the same type from every connector: a `Buffer` (or
 * `Uint8Array`) as a `Buffer`, a number as a number, an object as an equal plain object.
 */
export type NKVValue =
  string | Buffer | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown };

export interface NKVEntry {
  key: string;
  data: NKVValue;
}

/** An encoded entry as a backend lists it. */
export interface NKVStoredEntry {
  key: string;
  value: string;
}

/**
 * What an NKV connector implements: plain data operations on one team's namespaces. The service has
 * validated team, namespace and key and decided access before any of these runs; a backend decides
 * nothing. The three arrive as separate arguments, and a backend keeps them apart with a reversible
 * encoding (never by joining them with `:` or `/`), so that distinct names never alias (W31) and a
 * namespace never matches another that shares its prefix (W32). Values arrive and leave as the
 * encoded strings the service made: a backend stores them verbatim. No NKV operation reads before it
 * writes, so none needs a `Version`.
 */
export interface NKVBackend extends SreBackend {
  /** The stored value, or `undefined`. An in-memory backend may answer synchronously (the service then takes no tick). */
  readEntry(team: string, namespace: string, key: string): MaybePromise<string | undefined>;
  /** Creates or replaces; atomic (readers see the old or the new value, never a mix). May complete synchronously (and throw). */
  writeEntry(team: string, namespace: string, key: string, value: string): MaybePromise<void>;
  /** A missing key (or namespace) is a no-op. */
  deleteEntry(team: string, namespace: string, key: string): Promise<void>;
  hasEntry(team: string, namespace: string, key: string): Promise<boolean>;
  /** Every entry of exactly this namespace of this team, in any order, in time proportional to it. */
  listEntries(team: string, namespace: string): Promise<NKVStoredEntry[]>;
  /** Removes exactly this namespace's entries; other namespaces and teams are untouched. */
  deleteNamespace(team: string, namespace: string): Promise<void>;
}

/** Every operation of `NKVBackend` (a custom connector lacking one is refused at boot). */
export const NKV_OPERATIONS = [
  'readEntry',
  'writeEntry',
  'deleteEntry',
  'hasEntry',
  'listEntries',
  'deleteNamespace',
] as const;
