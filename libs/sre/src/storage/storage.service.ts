import type { Readable } from 'node:stream';
import { assertResourceId } from '../core/resource-id';
import { SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL, AclInput } from '../security/acl';
import { OWNER, READ, SecureConnector, WRITE } from '../security/secure-connector';

/** What can be written: bytes, text, or a stream (streamed to the backend, never buffered whole). */
export type StorageData = string | Buffer | Uint8Array | Readable;

/**
 * User metadata of a resource. `ContentType` is reserved for the MIME type; the ACL is kept apart
 * (see `getACL`) and the expiry too (see `expire`, `stat`): keys `acl` and `expiresAt` are ignored.
 * Values that are not strings round-trip through JSON.
 */
export type StorageMetadata = Record<string, unknown>;

/** Metadata and ACL of a resource, as `updateResource` reads and writes them. */
export interface ResourceHeader {
  metadata: StorageMetadata;
  acl: ACL;
}

export interface StorageStat {
  size: number;
  contentType?: string;
  /** Epoch milliseconds after which the resource is gone, when `expire` was called. */
  expiresAt?: number;
  metadata: StorageMetadata;
}

/** The operations of one candidate; every call is checked against the resource's ACL. */
export interface StorageRequester {
  readonly candidate: AccessCandidate;
  /** The whole resource, or `undefined` when it does not exist. Use `readStream` for large files. */
  read(id: string): Promise<Buffer | undefined>;
  /** A stream of the resource, or `undefined` when it does not exist. */
  readStream(id: string): Promise<Readable | undefined>;
  /**
   * Creates or replaces the resource. The ACL becomes `acl` (or the existing one when omitted),
   * plus every existing owner and the writer as owner: a co-writer can never evict an owner.
   * A rewrite clears any expiry.
   */
  write(id: string, data: StorageData, acl?: AclInput, metadata?: StorageMetadata): Promise<void>;
  /** Removes the resource; needs write access. Deleting a missing resource is a no-op. */
  delete(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  stat(id: string): Promise<StorageStat | undefined>;
  getMetadata(id: string): Promise<StorageMetadata | undefined>;
  /** Shallow-merges into the existing metadata; the resource must exist. */
  setMetadata(id: string, metadata: StorageMetadata): Promise<void>;
  getACL(id: string): Promise<ACL | undefined>;
  /** Replaces the ACL; the caller stays owner. Needs owner access. */
  setACL(id: string, acl: AclInput): Promise<void>;
  /** The resource disappears `ttlSeconds` from now. */
  expire(id: string, ttlSeconds: number): Promise<void>;
}

// `acl` is changed only through setACL (owner) and `expiresAt` only through expire (validated TTL):
// connectors store both beside the user's keys, so metadata must not smuggle either in.
const RESERVED_METADATA = new Set(['acl', 'expiresAt']);

/**
 * Blob storage with metadata and ACLs: the contract, the injection token, and the base class of
 * every Storage connector. Inject it in your services; use `requester(candidate)` for each caller.
 */
export abstract class StorageService extends SecureConnector {
  // What a connector implements: protected, so holding the service never skips the access checks.
  // Ids are validated and access is checked before any of these runs.

  protected abstract readResource(id: string): Promise<Buffer | undefined>;
  protected abstract readResourceStream(id: string): Promise<Readable | undefined>;
  /** Must be atomic: readers see the old or the new content, never a mix, and a failed write leaves the old one. */
  protected abstract writeResource(id: string, data: StorageData, acl: ACL, metadata: StorageMetadata): Promise<void>;
  protected abstract deleteResource(id: string): Promise<void>;
  protected abstract statResource(id: string): Promise<StorageStat | undefined>;
  /** The stored ACL, or `undefined` when the resource does not exist. */
  protected abstract readACL(id: string): Promise<ACL | undefined>;
  /**
   * Read-modify-write of an existing resource's metadata and ACL: `update` gets the current values
   * and returns the new ones; the connector applies it atomically (no lost update between two
   * concurrent calls). Resolves `false` when the resource does not exist.
   */
  protected abstract updateResource(id: string, update: (current: ResourceHeader) => ResourceHeader): Promise<boolean>;
  protected abstract expireResource(id: string, expiresAt: number): Promise<void>;

  protected getResourceACL(id: string): Promise<ACL | undefined> {
    return this.readACL(id);
  }

  requester(candidate: AccessCandidate): StorageRequester {
    const check = (id: string, need: number) => {
      assertResourceId(id, 'resource id', this.source());
      return this.authorize(candidate, need, id);
    };
    return {
      candidate,
      read: async (id) => (await check(id, READ)) && this.readResource(id),
      readStream: async (id) => (await check(id, READ)) && this.readResourceStream(id),
      write: async (id, data, acl, metadata = {}) => {
        const existing = await check(id, WRITE);
        const next = acl !== undefined ? ACL.from(acl) : (existing?.clone() ?? new ACL());
        if (existing) next.merge(existing.owners());
        next.grant(candidate, 'owner');
        await this.writeResource(id, data, next, this.cleanMetadata(metadata));
      },
      delete: async (id) => {
        if (await check(id, WRITE)) await this.deleteResource(id);
      },
      exists: async (id) => (await check(id, READ)) !== undefined,
      stat: async (id) => (await check(id, READ)) && this.statResource(id),
      getMetadata: async (id) => (await check(id, READ)) && (await this.statResource(id))?.metadata,
      setMetadata: async (id, metadata) => {
        const patch = this.cleanMetadata(metadata);
        const found =
          (await check(id, WRITE)) &&
          (await this.updateResource(id, (current) => ({
            acl: current.acl,
            metadata: { ...current.metadata, ...patch },
          })));
        if (!found) throw this.missing(id, 'set metadata of');
      },
      getACL: async (id) => (await check(id, READ))?.clone(),
      setACL: async (id, acl) => {
        const next = ACL.from(acl).grant(candidate, 'owner');
        const found =
          (await check(id, OWNER)) &&
          (await this.updateResource(id, (current) => ({ metadata: current.metadata, acl: next })));
        if (!found) throw this.missing(id, 'set the ACL of');
      },
      expire: async (id, ttlSeconds) => {
        if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
          throw new SreInvalidInputError('ttlSeconds must be a positive number', this.source());
        if (!(await check(id, WRITE))) throw this.missing(id, 'expire');
        await this.expireResource(id, Date.now() + ttlSeconds * 1000);
      },
    };
  }

  user(id: string): StorageRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): StorageRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): StorageRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  private missing(id: string, doing: string): SreNotFoundError {
    return new SreNotFoundError(`cannot ${doing} '${id}': it does not exist`, this.source());
  }

  private cleanMetadata(metadata: StorageMetadata): StorageMetadata {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new SreInvalidInputError('metadata must be a plain object', this.source());
    }
    const clean: StorageMetadata = {};
    for (const [key, value] of Object.entries(metadata))
      if (!RESERVED_METADATA.has(key) && value !== undefined) clean[key] = value;
    return clean;
  }
}
