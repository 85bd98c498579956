import { createHash } from 'node:crypto';
import type { AwsClientConfig } from '../../core/aws-client';
import { createConnectorContext, labelOf, type ConnectorContext, type Version } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { Sweeper } from '../../core/fs/expiry';
import {
  S3Objects,
  isLive,
  statusOf,
  type ObjectState,
  type WriteCondition,
} from '../../storage/connectors/s3-objects';
import { S3CacheSettings } from '../../storage/connectors/s3-settings';
import type { CacheBackend, CacheData, CacheEntry, CacheInfo, CacheInfoUpdate } from '../cache.backend';
import { RecentStates } from './recent-states';
import { CACHE_FOLDER, cacheObjectName, decodeBody, encodeBody, STATE_IN_BODY } from './s3-cache-format';

export { S3CacheSettings } from '../../storage/connectors/s3-settings';

/**
 * Cache entries as S3 objects, `<prefix>_smyth_cache/<key, percent-encoded>` (see
 * `s3-cache-format`): ACL, expiry and value type in user metadata, metadata and value in the body.
 * Conditional changes hold the key's lease and compare the version (ETag and revision), as the S3
 * Storage connector does, so concurrent writers lose no update.
 *
 * Expiry is exact to the millisecond on every read (an expired entry is missing at once) and a
 * sweep every `sweepIntervalSeconds` deletes what expired. No bucket lifecycle rule is ever
 * installed (W24): S3 cannot expire by a metadata value; a rule deleting `_smyth_cache/` objects
 * some days old is a safe extra cleanup when no TTL is longer than that (see docs/cache.md).
 */
export class S3CacheConnector implements CacheBackend {
  static readonly connectorName = 'S3';
  static readonly settingsClass = S3CacheSettings;

  readonly objects: S3Objects;
  private readonly sweeper: Sweeper<number>;
  /** Latest state seen per key, for `peekInfo` (a wrong guess costs one refused conditional write). */
  private readonly recent = new RecentStates<CacheInfo>(10_000);

  constructor(
    private readonly settings: S3CacheSettings,
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }> = createConnectorContext({
      subsystem: 'Cache',
      connector: 'S3',
    }),
  ) {
    this.objects = new S3Objects(settings, settings.bucketName, context);
    this.sweeper = new Sweeper(() => this.runSweep(), context.logger);
  }

  async connect(): Promise<void> {
    try {
      await this.ping();
    } catch (error) {
      if (statusOf((error as { cause?: unknown }).cause) === 404)
        throw new SreConfigError([`${labelOf(this.context)}: settings.bucketName names a bucket that does not exist`]);
      throw error;
    }
    this.sweeper.start((this.settings.sweepIntervalSeconds ?? 3_600) * 1000);
  }

  async disconnect(): Promise<void> {
    await this.sweeper.stop();
    await this.objects.close();
  }

  async ping(): Promise<void> {
    const { sdk, bucket } = this.objects;
    await this.objects.send('HeadBucket', '', new sdk.HeadBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
      throw this.objects.wrap(error, 'HeadBucket', '');
    });
  }

  /** Deletes every expired entry now; resolves to how many. Runs on the `sweepIntervalSeconds` timer. */
  sweep(): Promise<number> {
    return this.sweeper.run();
  }

  async readInfo(key: string): Promise<CacheInfo | undefined> {
    const state = await this.objects.head(this.keyOf(key));
    return this.seen(key, state && isLive(state) ? infoOf(state) : undefined);
  }

  async readEntry(key: string): Promise<{ info: CacheInfo; value: CacheData } | undefined> {
    const found = await this.fetch(key);
    const info = this.seen(key, found && infoOf(found.state));
    return info && { info, value: found!.value };
  }

  async readValue(key: string, version: Version): Promise<CacheData | undefined> {
    const found = await this.fetch(key);
    return found && versionOf(found.state) === version ? found.value : undefined;
  }

  async readMetadata(key: string, version: Version): Promise<string | undefined> {
    const found = await this.fetch(key);
    return found && versionOf(found.state) === version ? found.metadata : undefined;
  }

  /** Remembers what a read found (for `peekInfo`) and passes it on. */
  private seen(key: string, info: CacheInfo | undefined): CacheInfo | undefined {
    return info === undefined ? this.recent.forget(key) : this.recent.remember(key, info);
  }

  peekInfo(key: string): CacheInfo | undefined {
    const info = this.recent.get(key);
    return info !== undefined && (info.expiresAt === undefined || info.expiresAt > Date.now()) ? info : undefined;
  }

  async write(key: string, entry: CacheEntry, ifVersion: Version | undefined): Promise<boolean> {
    const name = this.keyOf(key);
    const { body, header } = encodeBody(entry.value, entry.metadata, entry);
    const put = (condition: WriteCondition) => this.objects.put(name, body, { Metadata: header }, condition);
    const done = await this.publish(name, ifVersion, put);
    if (done)
      this.recent.remember(key, { acl: entry.acl, expiresAt: entry.expiresAt, version: versionAfter(body, header) });
    else this.recent.forget(key);
    return done;
  }

  async writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): Promise<boolean> {
    const name = this.keyOf(key);
    // the state is in the body: rewritten with the value read at this very version
    const found = await this.fetch(key);
    if (!found || versionOf(found.state) !== ifVersion) return false;
    const rewritten = encodeBody(found.value, update.metadata ?? found.metadata, update);
    const put = (condition: WriteCondition) =>
      this.objects.put(name, rewritten.body, { Metadata: rewritten.header }, condition);
    const done = await this.publish(name, ifVersion, put);
    this.recent.forget(key);
    return done;
  }

  async delete(key: string, ifVersion: Version): Promise<boolean> {
    const name = this.keyOf(key);
    this.recent.forget(key);
    if (isStateVersion(ifVersion)) {
      // the ETag names the whole state: a conditional delete needs nothing else
      if (await this.objects.remove(name, etagOf(ifVersion))) return true;
      const current = await this.objects.head(name);
      if (!current) return true;
      return !isLive(current) && (await this.reap(name, current));
    }
    const current = await this.objects.head(name);
    if (!current) return true;
    if (!isLive(current)) return (await this.reap(name, current), true);
    if (versionOf(current) !== ifVersion) return false;
    return this.changeAt(name, ifVersion, false, (state) => this.objects.remove(name, state.etag));
  }

  /**
   * Runs `write` with the condition that makes it apply iff the object is at `ifVersion`
   * (`undefined`: absent or expired). An entry whose body carries its state is replaced on its
   * ETag alone (one request); one written by an earlier version of this connector (state in user
   * metadata only, which a header-only copy changes without changing the ETag) under the lease.
   */
  private async publish(
    name: string,
    ifVersion: Version | undefined,
    write: (condition: WriteCondition) => Promise<boolean>,
  ): Promise<boolean> {
    if (ifVersion !== undefined) {
      if (!isStateVersion(ifVersion))
        return this.changeAt(name, ifVersion, false, (current) => write({ ifMatch: current.etag }));
      // a version past its expiry is gone: the service reads again and sees the key missing
      const expiresAt = expiryOf(ifVersion);
      if (expiresAt !== undefined && expiresAt <= Date.now()) return false;
      return write({ ifMatch: etagOf(ifVersion) });
    }
    if (await write({ ifNoneMatch: '*' })) return true;
    // an expired entry still holds the object: it counts as missing, so it is replaced
    const existing = await this.objects.head(name);
    if (!existing || isLive(existing)) return false;
    if (!isStateVersion(versionOf(existing)))
      return this.changeAt(name, versionOf(existing), true, (current) => write({ ifMatch: current.etag }));
    return write({ ifMatch: existing.etag });
  }

  private keyOf(key: string): string {
    return this.objects.keyOf(cacheObjectName(key));
  }

  /** One GET: state, value and metadata of one version; `undefined` when missing or expired. */
  private async fetch(key: string): Promise<{ state: ObjectState; value: CacheData; metadata: string } | undefined> {
    const found = await this.objects.get(this.keyOf(key));
    if (!found) return undefined;
    if (!isLive(found.state)) {
      found.body.destroy();
      return undefined;
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of found.body) chunks.push(chunk as Buffer);
    } catch (error) {
      throw this.objects.wrap(error, 'GetObject', this.keyOf(key));
    }
    const { value, metadata } = decodeBody(Buffer.concat(chunks), found.state.header.metadata['sre-type'] as string);
    return { state: found.state, value, metadata };
  }

  private changeAt(
    name: string,
    version: Version,
    expired: boolean,
    change: (current: ObjectState) => Promise<boolean>,
  ): Promise<boolean> {
    return this.objects.withLease(name, async () => {
      const current = await this.objects.head(name);
      if (!current || versionOf(current) !== version || isLive(current) === expired) return false;
      return change(current);
    });
  }

  private async reap(name: string, state: ObjectState): Promise<boolean> {
    const version = versionOf(state);
    const removed = isStateVersion(version)
      ? this.objects.remove(name, state.etag)
      : this.changeAt(name, version, true, (current) => this.objects.remove(name, current.etag));
    return removed.catch((error: unknown) => {
      this.context.logger.warn(`could not delete an expired entry: ${(error as Error)?.message}`);
      return false;
    });
  }

  private async runSweep(): Promise<number> {
    const { sdk, bucket } = this.objects;
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.objects.send(
        'ListObjectsV2',
        '',
        new sdk.ListObjectsV2Command({
          Bucket: bucket,
          Prefix: this.objects.keyOf(CACHE_FOLDER),
          ContinuationToken: token,
        }),
      );
      for (const { Key } of (page.Contents ?? []) as { Key?: string }[]) {
        if (this.sweeper.stopping) return removed;
        const state = Key ? await this.objects.head(Key) : undefined;
        if (state && !isLive(state) && (await this.reap(Key!, state))) removed++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }
}

function infoOf(state: ObjectState): CacheInfo {
  return { acl: state.header.acl, expiresAt: state.header.expiresAt, version: versionOf(state) };
}

/**
 * The version of a state: `s:<ETag>|<expiresAt>` when the body carries the state (the ETag names
 * it whole; the expiry rides along so that a write at an expired version is refused here), else
 * the ETag and revision of the storage layout.
 */
function versionOf(state: ObjectState): string {
  if (String(state.header.metadata[STATE_IN_BODY]) !== '2') return state.version;
  return `s:${state.etag}|${state.header.expiresAt ?? ''}`;
}

/**
 * The version a successful write of `body` gives: S3's ETag of a single-part upload is its MD5. Where
 * it is not (SSE-KMS), the guess only costs a refused conditional write and a read.
 */
function versionAfter(body: Buffer, header: Record<string, string>): string {
  return `s:"${createHash('md5').update(body).digest('hex')}"|${header.expiresat ?? ''}`;
}

function isStateVersion(version: Version): version is string {
  return typeof version === 'string' && version.startsWith('s:');
}

function etagOf(version: string): string {
  return version.slice(2, version.lastIndexOf('|'));
}

function expiryOf(version: string): number | undefined {
  const at = version.slice(version.lastIndexOf('|') + 1);
  return at === '' ? undefined : Number(at);
}
