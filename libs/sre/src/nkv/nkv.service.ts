import { SreErrorSource, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { scopeOf } from '../security/scope';
import { READ, SecureConnector, WRITE } from '../security/secure-connector';

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
 * The operations of one candidate on its team's namespaces. The team is resolved from the candidate
 * by the Account subsystem; members of one team share its namespaces, and no call can name another
 * team. A candidate that resolves to no team is denied.
 */
export interface NKVRequester {
  readonly candidate: AccessCandidate;
  /** The value, or `undefined` when the key does not exist. Needs read. */
  get<T extends NKVValue = NKVValue>(namespace: string, key: string): Promise<T | undefined>;
  /** Creates or replaces the value. Needs write. */
  set(namespace: string, key: string, value: NKVValue | Uint8Array): Promise<void>;
  /** Removes the key; a missing key is a no-op. Needs write. */
  delete(namespace: string, key: string): Promise<void>;
  exists(namespace: string, key: string): Promise<boolean>;
  /** Removes every key of exactly this namespace; other namespaces (`ns2`, `ns:sub`) are untouched. Needs write. */
  deleteAll(namespace: string): Promise<void>;
  /** Every entry of exactly this namespace (not `ns2`, not `ns:sub`), keys as they were set. Needs read. */
  list(namespace: string): Promise<NKVEntry[]>;
}

const MAX_NAMESPACE_BYTES = 256;
const MAX_KEY_BYTES = 1024;
const NKV_SCOPE = 'nkv';

/**
 * Encodes a value for storage: `b:<base64>` for bytes, `j:<json>` for everything else. Rejects what
 * JSON cannot carry faithfully (undefined, functions, symbols, bigint, non-finite numbers, cycles).
 */
export function encodeNKVValue(value: unknown, source?: SreErrorSource): string {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `b:${Buffer.from(value).toString('base64')}`;
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new SreInvalidInputError('an NKV value must be a finite number', source);
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new SreInvalidInputError(`an NKV value cannot be ${typeof value}`, source);
  }
  try {
    return `j:${JSON.stringify(value)}`;
  } catch {
    throw new SreInvalidInputError('an NKV value must be JSON-serialisable (no cycles, no bigint inside)', source);
  }
}

/** Reverses `encodeNKVValue`. The error for a corrupt value never quotes it. */
export function decodeNKVValue(stored: string): NKVValue {
  try {
    if (stored.startsWith('b:')) return Buffer.from(stored.slice(2), 'base64');
    if (stored.startsWith('j:')) return JSON.parse(stored.slice(2)) as NKVValue;
  } catch {
    // fall through: V8's JSON message quotes the text
  }
  throw new Error('a stored NKV value is not in the encoded form');
}

/**
 * Namespace → key → value storage, scoped to the candidate's team: the contract, the injection token,
 * and the base class of every NKV connector. The access model is team-only and enforced here, once
 * for every backend (the original's namespace ACL never matched anything, W30): the team comes from
 * the Account subsystem, never from the caller's arguments, and a namespace belongs to its team.
 */
export abstract class NKVService extends SecureConnector {
  // The backend: what a connector implements. Team, namespace and key are validated and access is
  // checked before these run, and they arrive as separate arguments: a backend must keep them apart
  // with a reversible encoding, so that distinct names never alias (W31) and a namespace never
  // matches another one that shares its prefix (W32). Values arrive and leave encoded.

  /** The encoded value, or `undefined`. */
  protected abstract readEntry(team: string, namespace: string, key: string): Promise<string | undefined>;
  /** Creates or replaces; atomic (readers see the old or the new value). */
  protected abstract writeEntry(team: string, namespace: string, key: string, value: string): Promise<void>;
  /** A missing key is a no-op. */
  protected abstract deleteEntry(team: string, namespace: string, key: string): Promise<void>;
  protected abstract hasEntry(team: string, namespace: string, key: string): Promise<boolean>;
  /** Every entry of exactly this namespace, in any order. */
  protected abstract listEntries(team: string, namespace: string): Promise<NKVStoredEntry[]>;
  /** Removes exactly this namespace's entries. */
  protected abstract deleteNamespace(team: string, namespace: string): Promise<void>;

  /** A namespace is owned by its team: the resource id is `teams/<team>/nkv/<namespace>`. */
  protected getResourceACL(resourceId: string): ACL | undefined {
    const scope = scopeOf(resourceId);
    return scope?.role === 'team' ? new ACL().addAccess('team', scope.id, 'owner') : undefined;
  }

  requester(candidate: AccessCandidate): NKVRequester {
    const open = async (namespace: string, key: string | undefined, need: number): Promise<string> => {
      assertKey(namespace, 'NKV namespace', this.source(), MAX_NAMESPACE_BYTES);
      if (key !== undefined) assertKey(key, 'NKV key', this.source(), MAX_KEY_BYTES);
      const team = await this.requireTeam(candidate);
      await this.authorize(candidate, need, `teams/${team}/${NKV_SCOPE}/${namespace}`);
      return team;
    };
    const decode = (stored: string): NKVValue => {
      try {
        return decodeNKVValue(stored);
      } catch (error) {
        throw this.wrap(error, 'reading a value');
      }
    };
    return {
      candidate,
      get: async <T extends NKVValue>(namespace: string, key: string) => {
        const stored = await this.readEntry(await open(namespace, key, READ), namespace, key);
        return stored === undefined ? undefined : (decode(stored) as T);
      },
      set: async (namespace, key, value) => {
        const encoded = encodeNKVValue(value, this.source());
        await this.writeEntry(await open(namespace, key, WRITE), namespace, key, encoded);
      },
      delete: async (namespace, key) => this.deleteEntry(await open(namespace, key, WRITE), namespace, key),
      exists: async (namespace, key) => this.hasEntry(await open(namespace, key, READ), namespace, key),
      deleteAll: async (namespace) => this.deleteNamespace(await open(namespace, undefined, WRITE), namespace),
      list: async (namespace) => {
        const entries = await this.listEntries(await open(namespace, undefined, READ), namespace);
        return entries.map(({ key, value }) => ({ key, data: decode(value) }));
      },
    };
  }

  user(id: string): NKVRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): NKVRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): NKVRequester {
    return this.requester(AccessCandidate.agent(id));
  }
}
