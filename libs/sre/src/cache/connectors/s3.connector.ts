import { randomUUID } from 'node:crypto';
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
import { CACHE_FOLDER, cacheObjectName, decodeBody, encodeBody, entryMetadata } from './s3-cache-format';

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
    this.objects.close();
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
    return state && isLive(state) ? infoOf(state) : undefined;
  }

  async readEntry(key: string): Promise<{ info: CacheInfo; value: CacheData } | undefined> {
    const found = await this.fetch(key);
    return found && { info: infoOf(found.state), value: found.value };
  }

  async readValue(key: string, version: Version): Promise<CacheData | undefined> {
    const found = await this.fetch(key);
    return found && found.state.version === version ? found.value : undefined;
  }

  async readMetadata(key: string, version: Version): Promise<string | undefined> {
    const found = await this.fetch(key);
    return found && found.state.version === version ? found.metadata : undefined;
  }

  async write(key: string, entry: CacheEntry, ifVersion: Version | undefined): Promise<boolean> {
    const name = this.keyOf(key);
    const { body, type } = encodeBody(entry.value, entry.metadata);
    const put = (condition: WriteCondition) =>
      this.objects.put(name, body, { Metadata: entryMetadata(entry, type, randomUUID()) }, condition);
    if (ifVersion !== undefined)
      return this.changeAt(name, ifVersion, false, (current) => put({ ifMatch: current.etag }));
    if (await put({ ifNoneMatch: '*' })) return true;
    // an expired entry still holds the object: it counts as missing, so it is replaced
    const existing = await this.objects.head(name);
    if (!existing || isLive(existing)) return false;
    return this.changeAt(name, existing.version, true, (current) => put({ ifMatch: current.etag }));
  }

  async writeInfo(key: string, update: CacheInfoUpdate, ifVersion: Version): Promise<boolean> {
    const name = this.keyOf(key);
    return this.changeAt(name, ifVersion, false, async (current) => {
      const type = String(current.header.metadata['sre-type'] ?? 's');
      if (update.metadata === undefined) {
        const Metadata = entryMetadata(update, type, randomUUID());
        return this.objects.copy(name, name, { Metadata }, { ifMatch: current.etag }, current.etag);
      }
      // the metadata is in the body: rewritten with the value read at this very version
      const found = await this.fetch(key);
      if (!found || found.state.version !== current.version) return false;
      const rewritten = encodeBody(found.value, update.metadata);
      const Metadata = entryMetadata(update, rewritten.type, randomUUID());
      return this.objects.put(name, rewritten.body, { Metadata }, { ifMatch: current.etag });
    });
  }

  async delete(key: string, ifVersion: Version): Promise<boolean> {
    const name = this.keyOf(key);
    const current = await this.objects.head(name);
    if (!current) return true;
    if (!isLive(current)) return (await this.reap(name, current), true);
    if (current.version !== ifVersion) return false;
    return this.changeAt(name, ifVersion, false, (state) => this.objects.remove(name, state.etag));
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
      if (!current || current.version !== version || isLive(current) === expired) return false;
      return change(current);
    });
  }

  private async reap(name: string, state: ObjectState): Promise<boolean> {
    return this.changeAt(name, state.version, true, (current) => this.objects.remove(name, current.etag)).catch(
      (error: unknown) => {
        this.context.logger.warn(`could not delete an expired entry: ${(error as Error)?.message}`);
        return false;
      },
    );
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
  return { acl: state.header.acl, expiresAt: state.header.expiresAt, version: state.version };
}
