import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import { toAwsClientConfig, type AwsClientConfig } from '../../core/aws-client';
import { labelOf, redactWith, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreBackendError, SreError, SreInvalidInputError } from '../../core/errors';
import { KeyedQueue } from '../../core/keyed-queue';
import { isExpired } from '../../core/fs/expiry';
import type { StoredHeader } from '../../core/fs/header-codec';
import { decodeS3Header, type S3Header } from './s3-metadata';
import type { S3ConnectionSettings } from './s3-settings';

type Sdk = typeof S3;

/** One state of an object as a HEAD or GET saw it. */
export interface ObjectState {
  /** ETag and revision together: what the connectors hand out as `Version`. */
  readonly version: string;
  readonly etag: string;
  readonly size: number;
  readonly header: StoredHeader;
}

/** Conditions S3 checks atomically against the ETag of the key written. */
export interface WriteCondition {
  ifMatch?: string;
  ifNoneMatch?: '*';
}

/** Told the ETag of what a write stored (`undefined` when the store answered none). */
export type Written = (etag: string | undefined) => void;

/** Keys outside every id and cache key: ids never hold a backslash, cache keys live under `_smyth_cache/`. */
const LEASE_INFIX = '.sre-lease\\';
const STAGING_INFIX = '.sre-staging\\';
const LEASE_WAIT_MAX_MS = 200;

/**
 * The S3 operations both S3 connectors build on, over one `S3Client`: versioned HEAD/GET,
 * conditional PUT/COPY/DELETE (a refused condition is `false`, a missing key `undefined`), every
 * SDK error wrapped in an `SreBackendError` naming subsystem, connector and operation.
 *
 * Retries are the SDK's standard mode (throttling, 5xx, dropped and timed-out connections, with
 * backoff, `maxAttempts` in all); a body that is a stream is never retried, so uploads go up as
 * Buffers (one request, or one per part). Every call has an idle timeout (`requestTimeoutMs`) and
 * every call without a streamed body a wall-clock limit (`callTimeoutMs`).
 */
export class S3Objects {
  readonly sdk: Sdk;
  readonly client: S3.S3Client;
  readonly prefix: string;
  private readonly leaseTurns = new KeyedQueue();
  /** One writer only (this instance): a key's lease is its turn in this process, no S3 object. */
  private readonly singleWriter: boolean;
  /** Lease releases still on their way (see `leased`): `close` waits for them. */
  private readonly releasing = new Set<Promise<void>>();

  constructor(
    private readonly settings: S3ConnectionSettings,
    readonly bucket: string,
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }>,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK loads only when S3 is configured
    this.sdk = require('@aws-sdk/client-s3') as Sdk;
    this.prefix = settings.prefix ?? '';
    this.singleWriter = settings.singleWriter ?? false;
    const own = settings.region ?? (settings.endpoint || undefined) ?? settings.accessKeyId ?? settings.awsAccessKeyId;
    const base = own === undefined && context.deps.aws ? context.deps.aws : toAwsClientConfig(settings);
    const checksums = settings.checksums ?? 'WHEN_SUPPORTED';
    this.client = new this.sdk.S3Client({
      ...base,
      // path-style is what S3-compatible stores (MinIO, s3rver) need; AWS takes both
      forcePathStyle: settings.forcePathStyle ?? base.forcePathStyle ?? base.endpoint !== undefined,
      retryMode: 'standard',
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
      // `socketTimeout` is the idle limit; this SDK's `requestTimeout` only logs unless told to throw
      requestHandler: {
        connectionTimeout: settings.requestTimeoutMs ?? 30_000,
        socketTimeout: settings.requestTimeoutMs ?? 30_000,
      },
    });
  }

  /** Waits for the leases still being released (else they would block other writers until they expire), then closes the client. */
  async close(): Promise<void> {
    await Promise.all(this.releasing);
    this.client.destroy();
  }

  keyOf(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** A fresh key for bytes not yet published. */
  stagingKey(): string {
    return `${this.prefix}${STAGING_INFIX}${randomUUID()}`;
  }

  async head(key: string): Promise<ObjectState | undefined> {
    try {
      const out = await this.send('HeadObject', key, new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return this.stateOf(key, out);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.wrap(error, 'HeadObject', key);
    }
  }

  /** One version: headers and body of one response. The caller consumes or destroys `body`. */
  async get(key: string): Promise<{ state: ObjectState; body: Readable } | undefined> {
    try {
      const command = new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: key });
      const out = await this.send('GetObject', key, command, false);
      return { state: this.stateOf(key, out), body: out.Body as Readable };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.wrap(error, 'GetObject', key);
    }
  }

  /** `written` receives the new object's ETag when the write applied. */
  put(
    key: string,
    body: Buffer,
    header: S3Header,
    condition: WriteCondition = {},
    written?: Written,
  ): Promise<boolean> {
    const input = { Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ...header };
    const command = new this.sdk.PutObjectCommand({ ...input, ...conditionOf(condition) });
    return this.conditional('PutObject', key, command, written);
  }

  /** Server-side copy with the header replaced: no byte goes through this process. */
  copy(
    from: string,
    key: string,
    header: S3Header,
    condition: WriteCondition = {},
    sourceEtag?: string,
    written?: Written,
  ) {
    const command = new this.sdk.CopyObjectCommand({
      Bucket: this.bucket,
      Key: key,
      CopySource: `${this.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`,
      MetadataDirective: 'REPLACE',
      ...header,
      ...conditionOf(condition),
      ...(sourceEtag ? { CopySourceIfMatch: sourceEtag } : {}),
    });
    return this.conditional('CopyObject', key, command, written);
  }

  remove(key: string, ifMatch?: string): Promise<boolean> {
    const command = new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: ifMatch });
    return this.conditional('DeleteObject', key, command);
  }

  /**
   * Runs `work` holding the lease of `key`: an object created with `If-None-Match: *`, which S3
   * creates atomically for one writer only. S3's conditions compare ETags, and an ETag changes with
   * the bytes only, never with metadata, so two writers of a header cannot be told apart by S3
   * alone: the lease serialises them, and `work` compares the whole version (ETag and revision).
   * A lease older than `leaseSeconds` (its holder died) is taken over, conditional on its ETag.
   */
  withLease<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (this.singleWriter) return this.leaseTurns.run(key, work);
    return new Promise<T>((resolve, reject) => {
      // writers of one key in this process take turns here rather than polling S3 for the lease
      void this.leaseTurns.run(key, () => this.leased(key, work, resolve, reject));
    });
  }

  /**
   * Answers with `work`'s outcome as soon as it is known, then releases the lease: the caller
   * does not wait for the release (one request fewer on every replace, header change and delete),
   * while the next writer of the key in this process does, since its turn starts after this one
   * ends; another process finds the lease for that one request longer and waits as it would.
   */
  private async leased<T>(
    key: string,
    work: () => Promise<T>,
    resolve: (result: T) => void,
    reject: (error: unknown) => void,
  ): Promise<void> {
    const lease = `${this.prefix}${LEASE_INFIX}${key.slice(this.prefix.length)}`;
    let etag: string;
    try {
      etag = await this.acquire(lease);
    } catch (error) {
      return reject(error);
    }
    await work().then(resolve, reject);
    const release = this.remove(lease, etag).then(
      () => undefined,
      (error: unknown) => this.context.logger.warn(`releasing a lease failed: ${this.message(error)}`),
    );
    this.releasing.add(release);
    await release;
    this.releasing.delete(release);
  }

  private async acquire(lease: string): Promise<string> {
    const deadline = performance.now() + (this.settings.callTimeoutMs ?? 60_000);
    for (let pause = 5; ; pause = Math.min(pause * 2, LEASE_WAIT_MAX_MS)) {
      const body = Buffer.from(randomUUID());
      const until = String(Date.now() + (this.settings.leaseSeconds ?? 120) * 1000);
      const header = { Metadata: { until } };
      const created = await this.putLease(lease, body, header, { ifNoneMatch: '*' });
      if (created) return created;
      const held = await this.head(lease);
      const heldUntil = Number(held?.header.metadata.until);
      if (held && Number.isFinite(heldUntil) && heldUntil < Date.now()) {
        this.context.logger.warn(`taking over an expired lease (its holder stopped before releasing it)`);
        const taken = await this.putLease(lease, body, header, { ifMatch: held.etag });
        if (taken) return taken;
      }
      if (performance.now() > deadline)
        throw new SreBackendError(
          `${labelOf(this.context)}: another writer held the key for longer than callTimeoutMs`,
          sourceOf(this.context),
        );
      await new Promise((resolve) => setTimeout(resolve, Math.random() * pause));
    }
  }

  /** The new lease's ETag, or `undefined` when the condition was refused. */
  private async putLease(key: string, body: Buffer, header: S3Header, condition: WriteCondition) {
    const input = { Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ...header };
    try {
      const out = await this.send(
        'PutObject',
        key,
        new this.sdk.PutObjectCommand({ ...input, ...conditionOf(condition) }),
      );
      return (out as S3.PutObjectOutput).ETag ?? '*';
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) return undefined;
      throw this.wrap(error, 'PutObject', key);
    }
  }

  /**
   * `true` when written, `false` when S3 refused the condition (412, 409 for a concurrent one, or
   * 404 for `If-Match` on a key that is gone: AWS answers that NoSuchKey).
   */
  async conditional(operation: string, key: string, command: object, written?: Written): Promise<boolean> {
    try {
      const out = (await this.send(operation, key, command as S3.PutObjectCommand)) as S3.PutObjectOutput &
        S3.CopyObjectOutput;
      written?.(out.ETag ?? out.CopyObjectResult?.ETag);
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) return false;
      if (status === 404 && (command as { input?: { IfMatch?: string } }).input?.IfMatch !== undefined) return false;
      throw this.wrap(error, operation, key);
    }
  }

  /** Sends with the call's wall-clock limit unless `limited` is false (a body is streamed after). */
  send<T extends object>(_operation: string, _key: string, command: T, limited = true): Promise<any> {
    const abortSignal = limited ? AbortSignal.timeout(this.settings.callTimeoutMs ?? 60_000) : undefined;
    return this.client.send(command as never, { abortSignal });
  }

  wrap(error: unknown, operation: string, key: string): SreError {
    if (error instanceof SreError) return error;
    const status = statusOf(error);
    const name = (error as { name?: string })?.name ?? 'Error';
    const id = key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key;
    const text = `${labelOf(this.context)}: ${operation} of '${id}' failed: ${name}${status ? ` (HTTP ${status})` : ''}: ${this.message(error)}`;
    if (name === 'MetadataTooLarge' || name === 'EntityTooLarge' || name === 'KeyTooLongError')
      return new SreInvalidInputError(text, sourceOf(this.context), { cause: error });
    return new SreBackendError(text, sourceOf(this.context), { cause: error });
  }

  private message(error: unknown): string {
    return redactWith(this.context, String((error as Error)?.message ?? error));
  }

  private stateOf(key: string, out: S3.HeadObjectOutput): ObjectState {
    const warn = (what: string) => this.context.logger.warn(`'${key}': ${what}`);
    const { header, revision } = decodeS3Header(out.Metadata, out.ContentType, warn);
    const etag = out.ETag ?? '';
    return { version: `${etag}|${revision}`, etag, size: Number(out.ContentLength ?? 0), header };
  }
}

export function isLive(state: ObjectState | undefined): boolean {
  return state !== undefined && !isExpired(state.header.expiresAt);
}

function conditionOf(condition: WriteCondition): { IfMatch?: string; IfNoneMatch?: string } {
  return {
    ...(condition.ifMatch !== undefined ? { IfMatch: condition.ifMatch } : {}),
    ...(condition.ifNoneMatch !== undefined ? { IfNoneMatch: condition.ifNoneMatch } : {}),
  };
}

export function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
