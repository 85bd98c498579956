import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { AwsClientSettings } from '../../core/aws-client';

/**
 * What the S3 connectors (Storage and Cache) share beyond the AWS client settings: the key prefix,
 * time boxes, multipart sizes and the lease that serialises conditional changes of one key.
 */
export class S3ConnectionSettings extends AwsClientSettings {
  /**
   * Prepended to every object key (`app1/` keeps one app's objects apart from another's in a
   * shared bucket). Empty by default: keys are the resource ids, as the original stored them.
   */
  @IsOptional()
  @IsString()
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  @Matches(/^([^\\\u0000-\u001f]+\/)?$/, { message: 'must be empty or end with a slash (no backslash)' })
  prefix?: string = '';

  /**
   * Idle time (ms) a request may spend without a byte moving before it is abandoned (and retried
   * within `maxAttempts`); also bounds connecting.
   */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  requestTimeoutMs?: number = 30_000;

  /** Wall-clock limit (ms) of one call that moves no body (HEAD, copy, delete, a lease), retries included. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  callTimeoutMs?: number = 60_000;

  /**
   * `WHEN_SUPPORTED` (the SDK's default) adds CRC checksums to uploads; `WHEN_REQUIRED` only where
   * S3 demands one. s3rver 3.x stores streamed uploads with checksums corrupted: use `WHEN_REQUIRED`
   * with it (and with other stores that do not implement aws-chunked trailers).
   */
  @IsOptional()
  @IsIn(['WHEN_SUPPORTED', 'WHEN_REQUIRED'])
  checksums?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED' = 'WHEN_SUPPORTED';

  /**
   * How long (seconds) a writer may hold the lease of a key before another one may break it. Far
   * above `callTimeoutMs`, so a live holder always finishes first.
   */
  @IsOptional()
  @IsInt()
  @Min(5)
  @Max(3_600)
  leaseSeconds?: number = 120;

  /**
   * `true` declares this connector instance the only writer of the objects under `prefix` (one
   * app instance; no other process, console or lifecycle rule changes them). A key's lease is then
   * held in memory, not as an S3 object, and (Storage) a change starts from the state this instance
   * last saw or wrote of the key instead of a HEAD: a replace is one request. Changes stay conditional on
   * the ETag, so a foreign write of the bytes is still detected and decided again; a foreign change
   * of the header alone (an ACL set by another process) is not, which is why it is off by default.
   */
  @IsOptional()
  @IsBoolean()
  singleWriter?: boolean = false;
}

export class S3StorageSettings extends S3ConnectionSettings {
  /** The bucket; it must exist (the connector never creates or reconfigures buckets). */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be a valid S3 bucket name' })
  bucket!: string;

  /** Uploads larger than this (bytes) go up in parts; smaller ones in one request from memory. */
  @IsOptional()
  @IsInt()
  @Min(5 * 1024 * 1024)
  @Max(5 * 1024 * 1024 * 1024)
  multipartThresholdBytes?: number = 16 * 1024 * 1024;

  /** Size of one part (bytes): the memory one upload holds, times `uploadConcurrency`. */
  @IsOptional()
  @IsInt()
  @Min(5 * 1024 * 1024)
  @Max(512 * 1024 * 1024)
  partSizeBytes?: number = 8 * 1024 * 1024;

  /** Parts of one upload in flight at once. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(16)
  uploadConcurrency?: number = 4;
}

export class S3CacheSettings extends S3ConnectionSettings {
  /** The bucket (the seed's spelling for the cache); it must exist. */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be a valid S3 bucket name' })
  bucketName!: string;

  /**
   * Seconds between sweeps that delete expired entries (list, then a HEAD per entry: cost grows
   * with the cache); `0` turns the sweep off. Expired entries read as missing either way.
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(604_800)
  sweepIntervalSeconds?: number = 3_600;
}
