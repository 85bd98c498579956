import type { ConnectorContext } from '../core/backend';
import { SreErrorSource, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { isPromise } from '../core/service';
import { AccessCandidate, type Level } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { SecureService, type SecureServiceDeps } from '../security/secure-service';
import type { NKVBackend, NKVEntry, NKVValue } from './nkv.backend';

export type { NKVBackend, NKVEntry, NKVStoredEntry, NKVValue } from './nkv.backend';
export { NKV_OPERATIONS } from './nkv.backend';

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
/** `teams/<team>/nkv/<namespace>`: the namespace may itself contain slashes. */
const NKV_RESOURCE = /^teams\/([^/]+)\/nkv\/(.+)$/;

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

/** A namespace belongs to its team, whole: the team is its only owner. */
function teamACL(team: string): ACL {
  return new ACL().addAccess('team', team, 'owner');
}

/**
 * Namespace → key → value storage, scoped to the candidate's team: what you inject. The access model
 * is team-only and enforced here, once for every backend (the original's namespace ACL never matched
 * anything, W30): the team comes from the Account subsystem, never from the caller's arguments, and a
 * namespace belongs to its team. Names are validated and values encoded here, so every connector
 * stores the same thing.
 */
export class NKVService extends SecureService<NKVBackend> {
  /** Named by every input error: made once, not per call. */
  private readonly errorSource: SreErrorSource = this.source();
  constructor(backend: NKVBackend, context: ConnectorContext | undefined, deps: SecureServiceDeps) {
    super(backend, context, deps);
  }

  /**
   * True when `candidate` holds every level in `levels` on `teams/<team>/nkv/<namespace>`: a member of
   * that team holds all of them, anyone else none. Any other id is no NKV resource: `false`.
   */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    const match = typeof resourceId === 'string' ? NKV_RESOURCE.exec(resourceId) : null;
    return match ? this.allows(candidate, levels, resourceId, teamACL(match[1])) : false;
  }

  requester(candidate: AccessCandidate): NKVRequester {
    // A namespace belongs to a team, and a candidate works in its own team's namespaces only: the
    // team its Account gives it is the whole decision (`teams/<T>/nkv/<ns>` is owned by T, and the
    // candidate acts for T; see `hasAccess`), so no ACL is built or checked per call.
    const open = (namespace: string): Promise<string> => {
      assertKey(namespace, 'NKV namespace', this.errorSource, MAX_NAMESPACE_BYTES);
      return this.requireTeam(candidate);
    };
    const openKey = (namespace: string, key: string): Promise<string> => {
      assertKey(key, 'NKV key', this.errorSource, MAX_KEY_BYTES);
      return open(namespace);
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
        const team = await openKey(namespace, key);
        const read = this.call('reading a value', () => this.backend.readEntry(team, namespace, key));
        // an answer in hand is not awaited: that would cost a tick of its own (the RAM backend)
        const stored = isPromise(read) ? await read : read;
        return stored === undefined ? undefined : (decode(stored) as T);
      },
      set: async (namespace, key, value) => {
        const encoded = encodeNKVValue(value, this.errorSource);
        const team = await openKey(namespace, key);
        const written = this.call('writing a value', () => this.backend.writeEntry(team, namespace, key, encoded));
        if (isPromise(written)) await written;
      },
      delete: async (namespace, key) => {
        const team = await openKey(namespace, key);
        await this.call('deleting a value', () => this.backend.deleteEntry(team, namespace, key));
      },
      exists: async (namespace, key) => {
        const team = await openKey(namespace, key);
        return (await this.call('checking a key', () => this.backend.hasEntry(team, namespace, key))) === true;
      },
      deleteAll: async (namespace) => {
        const team = await open(namespace);
        await this.call('deleting a namespace', () => this.backend.deleteNamespace(team, namespace));
      },
      list: async (namespace) => {
        const team = await open(namespace);
        const entries = await this.call('listing a namespace', () => this.backend.listEntries(team, namespace));
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
