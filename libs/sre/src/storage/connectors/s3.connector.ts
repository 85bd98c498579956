import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AwsClientConfig } from '../../core/aws-client';
import { createConnectorContext, labelOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { isExpired } from '../../core/fs/expiry';
import type { StagedWrite, StorageBackend, StorageData, StorageEntry, StorageHeader } from '../storage.backend';
import { decodeS3Header, encodeS3Header, type S3Header } from './s3-metadata';
import { isLive, S3Objects, statusOf, type ObjectState, type WriteCondition, type Written } from './s3-objects';
import { S3StorageSettings } from './s3-settings';
import { abortUpload, completeUpload, stageBytes, type StagedBytes } from './s3-upload';

export { S3StorageSettings } from './s3-settings';

/**
 * Blobs in an S3 bucket (or MinIO, R2, s3rver through `endpoint`), in the original's layout: key =
 * `<prefix><resource id>`, the ACL in `x-amz-meta-acl` (compact form), other metadata as
 * `x-amz-meta-<key>` (see `s3-metadata`), the content type as Content-Type. Objects the original
 * wrote read as they are; its legacy `agentid`/`teamid`/`userid` keys become owners.
 *
 * Reads are one GET: headers and body of one version, streamed. Writes stage first (in memory up
 * to `multipartThresholdBytes`, else a multipart upload to a private staging key) and publish on
 * commit with one PutObject, or a server-side CopyObject from the staging key.
 *
 * Concurrency: a create is `If-None-Match: *`, which S3 applies atomically. A change of an
 * existing object (replace, header, delete) holds the key's lease (see `S3Objects.withLease`),
 * compares the whole version (ETag and `x-amz-meta-sre-rev`) and writes with `If-Match` on the
 * ETag, so writers through this connector never lose an update, and a writer that bypasses the
 * lease (the original, a console) is still fenced whenever it changes the bytes. Through the
 * service the lease also covers the service's own HEAD (`exclusive`), the one the change compares.
 *
 * With `singleWriter` the lease is a turn in this process, and the state this instance last saw or
 * wrote of a key stands in for the HEAD a change starts from (a replace is one PutObject `If-Match`);
 * a refused condition drops that state, so the change is read and decided again.
 *
 * Expiry: `x-amz-meta-expiresat` (epoch ms). An expired object reads as missing at once and is
 * deleted when next touched. S3 lifecycle rules cannot match a metadata value, so this connector
 * installs none (W24); what a bucket may add for cleanup is in docs/storage.md.
 */
export class S3StorageConnector implements StorageBackend {
  static readonly connectorName = 'S3';
  static readonly settingsClass = S3StorageSettings;

  readonly objects: S3Objects;
  /** The key whose lease the current `exclusive` section holds, and what a HEAD under it saw. */
  private readonly sections = new AsyncLocalStorage<{ key: string; seen?: ObjectState }>();
  /** With `singleWriter`: each key's state as this instance last saw or wrote it. */
  private readonly known?: Map<string, ObjectState>;

  constructor(
    private readonly settings: S3StorageSettings,
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }> = createConnectorContext({
      subsystem: 'Storage',
      connector: 'S3',
    }),
  ) {
    this.objects = new S3Objects(settings, settings.bucket, context);
    if (settings.singleWriter) this.known = new Map();
  }

  async connect(): Promise<void> {
    try {
      await this.ping();
    } catch (error) {
      if (statusOf((error as { cause?: unknown }).cause) === 404)
        throw new SreConfigError([`${labelOf(this.context)}: settings.bucket names a bucket that does not exist`]);
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    await this.objects.close();
  }

  async ping(): Promise<void> {
    const { sdk, bucket } = this.objects;
    await this.objects.send('HeadBucket', '', new sdk.HeadBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
      throw this.objects.wrap(error, 'HeadBucket', '');
    });
  }

  async stat(id: string): Promise<StorageEntry | undefined> {
    const key = this.objects.keyOf(id);
    const section = this.sections.getStore();
    const inSection = section?.key === key;
    // a single writer's own last state is current inside its section: no other writer can change it
    const state = (inSection && this.known?.get(key)) || this.remember(key, await this.objects.head(key));
    if (inSection) section.seen = state;
    return this.live(id, state);
  }

  /**
   * Holds the key's lease for `work` (the service's stat, decision and change): the change then
   * takes the state that stat saw as current, where on its own it takes the lease and reads
   * again. A replace is three awaited requests (lease, HEAD, PUT), not four.
   */
  exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const key = this.objects.keyOf(id);
    return this.objects.withLease(key, () => this.sections.run({ key }, work));
  }

  async read(
    id: string,
    wanted?: (entry: StorageEntry) => boolean | Promise<boolean>,
  ): Promise<{ entry: StorageEntry; data: Buffer } | undefined> {
    const found = await this.readStream(id);
    if (!found) return undefined;
    // one GET: its headers decide before its body is read (a refused caller's body is dropped unread)
    if (wanted && !(await wanted(found.entry))) {
      found.stream.destroy();
      return { entry: found.entry, data: Buffer.alloc(0) };
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of found.stream) chunks.push(chunk as Buffer);
    } catch (error) {
      throw this.objects.wrap(error, 'GetObject', this.objects.keyOf(id));
    }
    return { entry: found.entry, data: Buffer.concat(chunks) };
  }

  async readStream(id: string): Promise<{ entry: StorageEntry; stream: Readable } | undefined> {
    const key = this.objects.keyOf(id);
    const found = await this.objects.get(key);
    this.remember(key, found?.state);
    const entry = found && (await this.live(id, found.state));
    if (!entry) found?.body.destroy();
    return entry && { entry, stream: found!.body };
  }

  /**
   * With `expected` (the header the write expects to commit with), a large stream is uploaded in
   * parts to the key itself, started with that header, and published by completing the upload:
   * no copy. A commit with another header (the resource changed while the stream went up) then
   * answers `false` and publishes nothing, as the upload cannot take another header.
   */
  async stage(id: string, data: StorageData, expected?: StorageHeader): Promise<StagedWrite> {
    const key = this.objects.keyOf(id);
    const target = expected && { key, header: encodeS3Header(expected, randomUUID()) };
    const staged = await stageBytes(
      this.objects,
      data,
      {
        thresholdBytes: this.settings.multipartThresholdBytes ?? 16 * 1024 * 1024,
        partBytes: this.settings.partSizeBytes ?? 8 * 1024 * 1024,
        concurrency: this.settings.uploadConcurrency ?? 4,
      },
      target,
    );
    let settled = false;
    return {
      commit: async (header, ifVersion) => {
        if (!('upload' in staged)) return this.commit(id, staged, header, ifVersion);
        if (!sameHeader(header, expected!)) return false;
        const done = await this.publish(key, ifVersion, (condition) =>
          completeUpload(this.objects, staged.upload, condition),
        );
        settled ||= done;
        this.known?.delete(key);
        return done;
      },
      discard: async () => {
        if (settled) return;
        settled = true;
        const dropping =
          'upload' in staged
            ? abortUpload(this.objects, staged.upload)
            : 'key' in staged
              ? this.objects.remove(staged.key)
              : undefined;
        await dropping?.catch((error: unknown) => {
          this.context.logger.warn(`could not remove a staged upload: ${(error as Error)?.message}`);
        });
      },
    };
  }

  async writeHeader(id: string, header: StorageHeader, ifVersion: Version): Promise<boolean> {
    const key = this.objects.keyOf(id);
    // metadata changes never re-upload: S3 copies the object onto itself with the new header
    const s3Header = encodeS3Header(header, randomUUID());
    return this.changeAt(key, ifVersion, false, (current) =>
      this.objects.copy(
        key,
        key,
        s3Header,
        { ifMatch: current.etag },
        current.etag,
        this.wrote(key, s3Header, current.size),
      ),
    );
  }

  async delete(id: string, ifVersion: Version): Promise<boolean> {
    const key = this.objects.keyOf(id);
    const current = this.seen(key) ?? (await this.objects.head(key));
    if (!current) return true;
    if (!isLive(current)) return (await this.reap(key, current), true);
    if (current.version !== ifVersion) return false;
    const done = await this.changeAt(key, ifVersion, false, (state) => this.objects.remove(key, state.etag));
    if (done) this.known?.delete(key);
    return done;
  }

  private commit(id: string, staged: StagedBytes, header: StorageHeader, ifVersion: Version): Promise<boolean> {
    const key = this.objects.keyOf(id);
    const s3Header = encodeS3Header(header, randomUUID());
    return this.publish(key, ifVersion, (condition) =>
      'body' in staged
        ? this.objects.put(key, staged.body, s3Header, condition, this.wrote(key, s3Header, staged.body.length))
        : this.objects
            .copy((staged as { key: string }).key, key, s3Header, condition)
            .finally(() => this.known?.delete(key)),
    );
  }

  /** Runs `write` with the condition that makes it apply iff the key is at `ifVersion` (`undefined`: absent or expired). */
  private async publish(
    key: string,
    ifVersion: Version,
    write: (condition: WriteCondition) => Promise<boolean>,
  ): Promise<boolean> {
    if (ifVersion !== undefined)
      return this.changeAt(key, ifVersion, false, (current) => write({ ifMatch: current.etag }));
    if (await write({ ifNoneMatch: '*' })) return true;
    // an expired object still holds the key: it counts as missing, so it is replaced
    const existing = await this.objects.head(key);
    if (!existing || isLive(existing)) return false;
    return this.changeAt(key, existing.version, true, (current) => write({ ifMatch: current.etag }));
  }

  /** Applies `change` under the key's lease iff the object is still at `version` (and live unless `expired`). */
  private changeAt(
    key: string,
    version: Version,
    expired: boolean,
    change: (current: ObjectState) => Promise<boolean>,
  ): Promise<boolean> {
    const section = this.sections.getStore();
    if (section?.key === key) {
      // the lease is held already, and a state seen under it is current (one change per look)
      const seen = section.seen;
      section.seen = undefined;
      return this.changeIf(key, seen ?? this.objects.head(key), version, expired, change);
    }
    return this.objects.withLease(key, () => this.changeIf(key, this.objects.head(key), version, expired, change));
  }

  private async changeIf(
    key: string,
    state: ObjectState | Promise<ObjectState | undefined>,
    version: Version,
    expired: boolean,
    change: (current: ObjectState) => Promise<boolean>,
  ): Promise<boolean> {
    let done = false;
    try {
      const current = await state;
      done = !!current && current.version === version && isLive(current) !== expired && (await change(current));
      return done;
    } finally {
      // refused or failed (a lost answer may still have applied): the state it started from is not trusted
      if (!done) this.known?.delete(key);
    }
  }

  /** Keeps a single writer's last state of `key` (bounded: a full memo starts over), and passes it on. */
  private remember(key: string, state: ObjectState | undefined): ObjectState | undefined {
    const known = this.known;
    if (!known) return state;
    if (!state) known.delete(key);
    else {
      if (known.size >= KNOWN_STATES_LIMIT && !known.has(key)) known.clear();
      known.set(key, state);
    }
    return state;
  }

  /** What `remember`s the state a write of `header` and `size` bytes leaves, once S3 answers its ETag. */
  private wrote(key: string, header: S3Header, size: number): Written | undefined {
    if (!this.known) return undefined;
    return (etag) => {
      if (etag === undefined) return void this.known!.delete(key);
      const { header: stored, revision } = decodeS3Header(header.Metadata, header.ContentType);
      this.remember(key, { version: `${etag}|${revision}`, etag, size, header: stored });
    };
  }

  /** The state a HEAD saw for `key` in the current exclusive section, if any. */
  private seen(key: string): ObjectState | undefined {
    const section = this.sections.getStore();
    return section?.key === key ? section.seen : undefined;
  }

  /** The entry of a live state; an expired one is deleted (best effort) and reads as missing. */
  private async live(id: string, state: ObjectState | undefined): Promise<StorageEntry | undefined> {
    if (!state) return undefined;
    if (isExpired(state.header.expiresAt)) {
      await this.reap(this.objects.keyOf(id), state);
      return undefined;
    }
    const { acl, metadata, expiresAt } = state.header;
    return { acl, metadata, expiresAt, size: state.size, version: state.version };
  }

  private async reap(key: string, state: ObjectState): Promise<void> {
    this.known?.delete(key);
    await this.changeAt(key, state.version, true, (current) => this.objects.remove(key, current.etag)).catch(
      (error: unknown) => this.context.logger.warn(`could not delete an expired object: ${(error as Error)?.message}`),
    );
  }
}

/** Keys whose last state a single writer keeps (each a few hundred bytes). */
const KNOWN_STATES_LIMIT = 10_000;

/** Do two headers encode alike (same ACL, metadata, content type and expiry)? */
function sameHeader(a: StorageHeader, b: StorageHeader): boolean {
  return JSON.stringify(encodeS3Header(a, '')) === JSON.stringify(encodeS3Header(b, ''));
}
