import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { ConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreInvalidInputError, SreNotFoundError, SreUnavailableError } from '../core/errors';
import { assertByteSource, isByteStream } from '../core/fs/bytes';
import { RESERVED_HEADER_KEYS } from '../core/fs/header-codec';
import { assertResourceId } from '../core/resource-id';
import { KnownIds } from './known-ids';
import type { RouteHandler } from '../router/router.backend';
import type { RouterService } from '../router/router.service';
import { AccessCandidate } from '../security/access-candidate';
import { ACL, AclInput } from '../security/acl';
import { assertNotScopeFolder } from '../security/scope';
import { OWNER, READ, SecureService, type SecureServiceDeps, WRITE } from '../security/secure-service';
import type {
  StagedWrite,
  StorageBackend,
  StorageData,
  StorageEntry,
  StorageHeader,
  StorageMetadata,
} from './storage.backend';

export type {
  StagedWrite,
  StorageBackend,
  StorageData,
  StorageEntry,
  StorageHeader,
  StorageMetadata,
} from './storage.backend';

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
   * A stream of the resource with the stat of that very version (size, content type): what an
   * HTTP download needs, consistent even while the resource is replaced. `undefined` when missing.
   */
  readStreamWithStat(id: string): Promise<{ stream: Readable; stat: StorageStat } | undefined>;
  /**
   * Creates or replaces the resource. Creating it makes the writer its owner, with `acl` as the
   * rest of its ACL. An owner's rewrite sets the ACL to `acl` (or keeps the stored one when
   * omitted) plus every existing owner, the writer staying owner. A co-writer's rewrite (write
   * access, not owner) changes content and metadata only: the ACL stays as stored and `acl` is
   * ignored, so a write grant never turns into ownership. A rewrite clears any expiry. Ids that
   * name a reserved folder (`teams`, `teams/<T>`, `users/<id>`, ...) are refused.
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
  /**
   * A temporary download URL of the resource (needs read access): `<router baseUrl>/_sre/storage/<token>`,
   * served by the Router for `ttlSeconds` (default 3600) or until `revokeTempUrl`. Whoever holds
   * the URL downloads the resource as this candidate (whose access is checked again on each download).
   */
  createTempUrl(id: string, options?: TempUrlOptions): Promise<string>;
}

export interface TempUrlOptions {
  /** How long the URL serves the resource (default 3600). */
  ttlSeconds?: number;
}

/** The path prefix under which the Router serves temporary URLs. */
export const STORAGE_TEMP_URL_PATH = '/_sre/storage';
/** The lifetime of a temporary URL when none is given (the original's). */
export const DEFAULT_TEMP_URL_TTL_SECONDS = 3600;

/** What StorageService needs from the application: Account, and the Router for temporary URLs. */
export interface StorageServiceDeps extends SecureServiceDeps {
  router?: RouterService;
}

interface TempUrlGrant {
  readonly id: string;
  readonly candidate: AccessCandidate;
  readonly expiresAt: number;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Bytes in memory up to this size stage inside an exclusive section (they stage in no time). */
const STAGE_IN_SECTION_BYTES = 1024 * 1024;

/**
 * Blob storage with metadata and ACLs: what you inject (`StorageService`, or `@InjectStorage(name)`);
 * use `requester(candidate)` for each caller. The service owns the policy: ids, metadata and TTL
 * validation, the access decision, ownership rules and error wrapping; the backend only stores.
 *
 * Every change is decided on the version the backend read and applied only while the resource is
 * still at that version (else read and decided again), so a concurrent change can never slip a
 * write past a decision made on older state. A write is authorized before any byte is staged and
 * again when it is committed.
 */
export class StorageService extends SecureService<StorageBackend> {
  private readonly router?: RouterService;
  /** Temporary URL tokens (32 random bytes, base64url) and what each serves; held in memory only. */
  private readonly tempUrls = new Map<string, TempUrlGrant>();
  /** Ids seen existing: a write to any other is first tried as a create (see `write`). */
  private readonly existing = new KnownIds();

  constructor(backend: StorageBackend, context: ConnectorContext | undefined, deps: StorageServiceDeps) {
    super(backend, context, deps);
    try {
      deps.router?.get(`${STORAGE_TEMP_URL_PATH}/:token`, this.serveTempUrl);
      this.router = deps.router;
    } catch (error) {
      // an unavailable Router leaves Storage working, without temporary URLs
      this.logger.warn(`temporary URLs are off: ${this.redact(String((error as Error)?.message ?? error))}`);
    }
  }

  /**
   * Ends a temporary URL now (its later requests answer 404). `true` when it was live. Anyone
   * holding the URL may revoke it: the URL itself is the capability.
   */
  revokeTempUrl(url: string): boolean {
    const token = tokenOf(url);
    return token !== undefined && this.tempUrls.delete(token);
  }

  /** Forgets every temporary URL, then closes the backend. */
  override disconnect(): Promise<void> {
    this.tempUrls.clear();
    return super.disconnect();
  }

  private async createTempUrl(candidate: AccessCandidate, id: string, options: TempUrlOptions): Promise<string> {
    const ttlSeconds = options?.ttlSeconds ?? DEFAULT_TEMP_URL_TTL_SECONDS;
    if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new SreInvalidInputError('ttlSeconds must be a positive number', this.source());
    if (!this.router)
      throw new SreUnavailableError(
        `${this.label()}: temporary URLs need the Router subsystem (import RouterModule or SreModule)`,
        this.source(),
      );
    if (!(await this.entry(candidate, READ, id)))
      throw new SreNotFoundError(`cannot create a temporary URL of '${id}': it does not exist`, this.source());
    const now = Date.now();
    for (const [token, grant] of this.tempUrls) if (grant.expiresAt <= now) this.tempUrls.delete(token);
    const token = randomBytes(32).toString('base64url');
    this.tempUrls.set(token, { id, candidate, expiresAt: now + ttlSeconds * 1000 });
    return `${this.router.baseUrl}${STORAGE_TEMP_URL_PATH}/${token}`;
  }

  /**
   * `GET /_sre/storage/:token`: streams the resource with its content type. An unknown, expired or
   * revoked token, a resource gone or no longer readable by its candidate passes on (`next()`:
   * another Storage instance's token, else 404).
   */
  private readonly serveTempUrl: RouteHandler = async (request, response, next) => {
    const token = (request as { params?: Record<string, string> }).params?.token;
    const grant = token === undefined ? undefined : this.tempUrls.get(token);
    if (!grant || grant.expiresAt <= Date.now()) {
      if (grant) this.tempUrls.delete(token!);
      return next();
    }
    let found: { stream: Readable; stat: StorageStat } | undefined;
    try {
      found = await this.requester(grant.candidate).readStreamWithStat(grant.id);
    } catch (error) {
      if (error instanceof SreNotFoundError || error instanceof SreAccessDeniedError) return next();
      return next(error);
    }
    if (!found) return next();
    const { stream, stat } = found;
    const res = response as {
      setHeader(name: string, value: string | number): unknown;
      destroy?(error?: Error): unknown;
    } & NodeJS.WritableStream;
    res.setHeader('Content-Type', stat.contentType ?? 'application/octet-stream');
    res.setHeader('Content-Length', stat.size);
    res.setHeader('Cache-Control', 'private, no-store');
    // stored content is served from the app's origin: never sniffed, never run as a page
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', 'sandbox');
    stream.once('error', (error) => {
      this.logger.warn(`a temporary URL download failed: ${this.redact(String((error as Error)?.message ?? error))}`);
      res.destroy?.(error as Error);
    });
    stream.pipe(res);
  };

  requester(candidate: AccessCandidate): StorageRequester {
    return {
      candidate,
      read: async (id) => {
        assertResourceId(id, 'resource id', this.source());
        // decided on the entry before the bytes load (a denied caller never makes the backend load
        // them), in the same backend call: one round trip where a stat first would cost two
        let allowed: StorageEntry | undefined;
        const wanted = (entry: StorageEntry) =>
          this.authorize(candidate, READ, id, entry.acl).then(
            () => ((allowed = entry), true),
            () => false,
          );
        const found = this.existing.saw(id, await this.call(`reading '${id}'`, () => this.backend.read(id, wanted)));
        // the decision is the service's, whatever a backend did with `wanted`
        if (!found || found.entry !== allowed) await this.authorize(candidate, READ, id, found?.entry.acl);
        return found?.data;
      },
      readStream: async (id) => (await this.opened(candidate, id))?.stream,
      readStreamWithStat: async (id) => {
        const found = await this.opened(candidate, id);
        return found && { stream: found.stream, stat: statOf(found.entry) };
      },
      write: (id, data, acl, metadata = {}) => this.write(candidate, id, data, acl, metadata),
      delete: async (id) => {
        await this.decide(candidate, WRITE, id, async (entry) => {
          if (!entry) return true;
          const done = await this.step(`deleting '${id}'`, () => this.backend.delete(id, entry.version));
          if (done) this.existing.forget(id);
          return done;
        });
      },
      exists: async (id) => (await this.entry(candidate, READ, id)) !== undefined,
      stat: async (id) => {
        const entry = await this.entry(candidate, READ, id);
        return entry && statOf(entry);
      },
      getMetadata: async (id) => (await this.entry(candidate, READ, id))?.metadata,
      setMetadata: async (id, metadata) => {
        const patch = this.cleanMetadata(metadata);
        await this.update(candidate, WRITE, id, 'set metadata of', (entry) => ({
          acl: entry.acl,
          metadata: { ...entry.metadata, ...patch },
          expiresAt: entry.expiresAt,
        }));
      },
      getACL: async (id) => (await this.entry(candidate, READ, id))?.acl.clone(),
      setACL: async (id, acl) => {
        const next = this.input(() => ACL.from(acl)).grant(candidate, 'owner');
        await this.update(candidate, OWNER, id, 'set the ACL of', (entry) => ({
          acl: next,
          metadata: entry.metadata,
          expiresAt: entry.expiresAt,
        }));
      },
      expire: async (id, ttlSeconds) => {
        if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
          throw new SreInvalidInputError('ttlSeconds must be a positive number', this.source());
        await this.update(candidate, WRITE, id, 'expire', (entry) => ({
          acl: entry.acl,
          metadata: entry.metadata,
          expiresAt: Date.now() + ttlSeconds * 1000,
        }));
      },
      createTempUrl: (id, options = {}) => this.createTempUrl(candidate, id, options),
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

  private async write(
    candidate: AccessCandidate,
    id: string,
    data: StorageData,
    acl: AclInput | undefined,
    metadata: StorageMetadata,
  ): Promise<void> {
    const clean = this.cleanMetadata(metadata);
    const given = this.input(() => (acl === undefined ? undefined : ACL.from(acl)));
    this.input(() => assertByteSource(data));
    assertResourceId(id, 'resource id', this.source());
    // a file named like a reserved folder would block every resource of that scope
    assertNotScopeFolder(id, 'resource id', this.source());
    await this.ensureReady();
    // Every byte is staged only after a decision: a caller who may not write never uploads one.
    // A stream is decided on a stat, staged (that may take long), then decided again on the
    // version its commit replaces. Bytes in memory stage in no time, so they are decided once, just
    // before their commit; and an id not known to exist is first created with no stat at all: that
    // commit is conditional on the id being absent, and when it is not, the write is read and
    // decided like any replace. A replace reads, decides and commits in the backend's exclusive
    // section (see `StorageBackend.exclusive`); bytes large enough to take a while to stage are
    // staged before it, decided on a stat of their own, so that no other writer waits for them.
    const inMemory = !isByteStream(data);
    let missing = inMemory ? !this.existing.has(id) : false;
    let staged: StagedWrite | undefined;
    if (!inMemory || (!missing && this.backend.exclusive && byteLengthOf(data) > STAGE_IN_SECTION_BYTES)) {
      const entry = await this.entry(candidate, WRITE, id);
      missing = entry === undefined;
      // the header it will most likely commit with: a backend may start the upload with it
      const expected: StorageHeader = { acl: await this.nextACL(candidate, id, entry, given), metadata: clean };
      staged = await this.stage(id, data, expected);
    }
    const commit = async (entry: StorageEntry | undefined) => {
      const header: StorageHeader = { acl: await this.nextACL(candidate, id, entry, given), metadata: clean };
      staged ??= await this.stage(id, data);
      const bytes = staged;
      return this.step(`writing '${id}'`, () => bytes.commit(header, entry?.version));
    };
    try {
      await this.retryOnConflict(`'${id}'`, async () => {
        if (!missing)
          return this.exclusively(id, `writing '${id}'`, async () => commit(await this.recheck(candidate, WRITE, id)));
        missing = false;
        await this.authorize(candidate, WRITE, id, undefined);
        return commit(undefined);
      });
      this.existing.add(id);
    } finally {
      await staged?.discard().catch(() => undefined);
    }
  }

  /**
   * The ACL a write stores, on the entry it replaces (`undefined`: it creates the resource).
   * - create: `given` (or nothing) with the writer as owner;
   * - rewrite by an owner: `given` (or the stored ACL) plus every stored owner, the writer staying
   *   owner (as `setACL`): a co-owner can never evict another owner (W19);
   * - rewrite by a co-writer (write, not owner): the stored ACL as it is, `given` ignored. Changing
   *   who may do what needs owner, so a write grant never becomes ownership, nor ownership for
   *   someone else, and the writer keeps exactly the rights it had.
   */
  private async nextACL(
    candidate: AccessCandidate,
    id: string,
    entry: StorageEntry | undefined,
    given: ACL | undefined,
  ): Promise<ACL> {
    if (!entry) return (given?.clone() ?? new ACL()).grant(candidate, 'owner');
    if (given === undefined || !(await this.allows(candidate, 'owner', id, entry.acl))) return entry.acl.clone();
    return this.input(() => given.clone().merge(entry.acl.owners()).grant(candidate, 'owner'));
  }

  /** Stages the bytes; a source stream's own error reaches the caller as it is. */
  private async stage(id: string, data: StorageData, expected?: StorageHeader): Promise<StagedWrite> {
    const emitter = typeof (data as Partial<EventEmitter>).on === 'function' ? (data as EventEmitter) : undefined;
    let own: unknown;
    const remember = (error: unknown) => (own = error);
    emitter?.on('error', remember);
    try {
      return await this.backend.stage(id, data, expected);
    } catch (error) {
      if (error === own && own !== undefined) throw error;
      throw this.wrap(error, `writing '${id}'`);
    } finally {
      emitter?.off('error', remember);
    }
  }

  /** Read-modify-write of the header of an existing resource, decided on the version it replaces. */
  private update(
    candidate: AccessCandidate,
    need: number,
    id: string,
    doing: string,
    next: (entry: StorageEntry) => StorageHeader,
  ): Promise<void> {
    return this.decide(candidate, need, id, (entry) => {
      if (!entry) throw new SreNotFoundError(`cannot ${doing} '${id}': it does not exist`, this.source());
      return this.step(`updating '${id}'`, () => this.backend.writeHeader(id, next(entry), entry.version));
    });
  }

  /**
   * Reads the entry, decides, and runs `attempt` on it (a conditional change) until it applies:
   * a `false` attempt means the resource changed in between, so it is read and decided again.
   */
  private async decide(
    candidate: AccessCandidate,
    need: number,
    id: string,
    attempt: (entry: StorageEntry | undefined) => Promise<boolean>,
  ): Promise<void> {
    // checked before a section is entered: no lease is taken for an id that is refused anyway
    assertResourceId(id, 'resource id', this.source());
    await this.ensureReady();
    let first = true;
    // each read, decision and change in one exclusive section: the backend need not read again
    await this.retryOnConflict(`'${id}'`, () =>
      this.exclusively(id, `changing '${id}'`, async () => {
        const current = first ? await this.entry(candidate, need, id) : await this.recheck(candidate, need, id);
        first = false;
        return attempt(current);
      }),
    );
  }

  /**
   * `work` in the backend's exclusive section of `id` (or as it is, for a backend without one).
   * What `work` throws passes as it is; a failure of the section itself is wrapped.
   */
  private async exclusively<T>(id: string, doing: string, work: () => Promise<T>): Promise<T> {
    const { backend } = this;
    if (!backend.exclusive) return work();
    let failed = false;
    try {
      return await backend.exclusive(id, () =>
        work().catch((error: unknown) => ((failed = true), Promise.reject(error))),
      );
    } catch (error) {
      throw failed ? error : this.wrap(error, doing);
    }
  }

  /**
   * A stream of one version, decided on that version's ACL: one backend call (the stream is opened,
   * not read, before the decision; a denied caller's stream is destroyed unread), where a stat
   * first would cost a remote backend a second round trip.
   */
  private async opened(
    candidate: AccessCandidate,
    id: string,
  ): Promise<{ entry: StorageEntry; stream: Readable } | undefined> {
    assertResourceId(id, 'resource id', this.source());
    const found = this.existing.saw(id, await this.call(`reading '${id}'`, () => this.backend.readStream(id)));
    try {
      await this.authorize(candidate, READ, id, found?.entry.acl);
    } catch (error) {
      found?.stream.destroy();
      throw error;
    }
    return found;
  }

  /**
   * The live entry of `id` after the access decision (`undefined`: it does not exist and the
   * candidate may create it). Validates the id and connects on first use.
   */
  private async entry(candidate: AccessCandidate, need: number, id: string): Promise<StorageEntry | undefined> {
    assertResourceId(id, 'resource id', this.source());
    const entry = this.existing.saw(id, await this.call(`reading '${id}'`, () => this.backend.stat(id)));
    await this.authorize(candidate, need, id, entry?.acl);
    return entry;
  }

  /** `entry` for a later step of an operation already admitted: it finishes even once draining began. */
  private async recheck(candidate: AccessCandidate, need: number, id: string): Promise<StorageEntry | undefined> {
    const entry = this.existing.saw(id, await this.step(`reading '${id}'`, () => this.backend.stat(id)));
    await this.authorize(candidate, need, id, entry?.acl);
    return entry;
  }

  /** Argument checks that may throw a typed error without a source (ACL parsing, data type). */
  private input<T>(check: () => T): T {
    try {
      return check();
    } catch (error) {
      throw this.wrap(error, 'checking the arguments');
    }
  }

  /** Wraps a backend error like `call`, without refusing work: for steps after the first. */
  private async step<T>(doing: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw this.wrap(error, doing);
    }
  }

  /**
   * A plain object without the reserved keys (`acl` changes only through setACL, `expiresAt` only
   * through expire), each value as JSON holds it: every backend then returns the same types.
   */
  private cleanMetadata(metadata: StorageMetadata): StorageMetadata {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new SreInvalidInputError('metadata must be a plain object', this.source());
    }
    const clean: StorageMetadata = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (RESERVED_HEADER_KEYS.has(key) || key === '__proto__' || value === undefined) continue;
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch {
        json = undefined;
      }
      if (json === undefined)
        throw new SreInvalidInputError(`metadata '${key}' is not JSON-serialisable`, this.source());
      clean[key] = JSON.parse(json);
    }
    return clean;
  }
}

/** The token of a temporary URL (absolute, or its path), or `undefined` when it is not one. */
function tokenOf(url: string): string | undefined {
  if (typeof url !== 'string') return undefined;
  const path = URL.canParse(url) ? new URL(url).pathname : url.split(/[?#]/)[0];
  const token = path.slice(path.lastIndexOf('/') + 1);
  return path.endsWith(`${STORAGE_TEMP_URL_PATH}/${token}`) && TOKEN.test(token) ? token : undefined;
}

function byteLengthOf(data: string | Buffer | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

function statOf(entry: StorageEntry): StorageStat {
  const contentType = entry.metadata.ContentType;
  return {
    size: entry.size,
    contentType: typeof contentType === 'string' ? contentType : undefined,
    expiresAt: entry.expiresAt,
    metadata: entry.metadata,
  };
}
