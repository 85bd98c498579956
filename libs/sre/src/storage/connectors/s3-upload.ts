import { Readable } from 'node:stream';
import { chunkToBuffer, isByteStream, toBuffer, type ByteSource } from '../../core/fs/bytes';
import type { S3Header } from './s3-metadata';
import type { S3Objects } from './s3-objects';

/**
 * Bytes staged for a commit: in memory (small), as a private object uploaded in parts, or as the
 * parts of a multipart upload of the key itself, with the header it was started with (published
 * by completing it: no copy).
 */
export type StagedBytes =
  { readonly body: Buffer } | { readonly key: string; readonly size: number } | { readonly upload: PendingUpload };

/** A multipart upload of the final key, every part sent, not completed (invisible until then). */
export interface PendingUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly parts: { PartNumber: number; ETag: string }[];
  readonly header: S3Header;
  readonly size: number;
}

export interface UploadLimits {
  thresholdBytes: number;
  partBytes: number;
  concurrency: number;
}

/** The largest object one CopyObject can publish (larger ones would need UploadPartCopy). */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
const EMPTY = Buffer.alloc(0);

/**
 * Takes `data` without publishing it. Up to `thresholdBytes` it stays in memory (committed with one
 * PutObject); beyond, it streams into a multipart upload under a staging key, `partBytes` at a
 * time with at most `concurrency` parts in flight (the source is read only when a slot is free,
 * so memory stays at about `partBytes * (concurrency + 1)` whatever the size). Each part is a
 * Buffer, so the SDK retries a failed part on its own. If the source or a part fails, the upload
 * is aborted and the error rethrown: nothing is left behind but what S3 still holds of an
 * aborted upload (see the bucket's AbortIncompleteMultipartUpload rule in docs).
 */
export async function stageBytes(
  objects: S3Objects,
  data: ByteSource,
  limits: UploadLimits,
  target?: { key: string; header: S3Header },
): Promise<StagedBytes> {
  const whole = toBuffer(data);
  if (whole && whole.length <= limits.thresholdBytes) return { body: Buffer.from(whole) };
  const source: AsyncIterable<unknown> = whole ? Readable.from([whole]) : (data as AsyncIterable<unknown>);
  if (!whole && !isByteStream(data)) throw new TypeError('not a byte source');
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  // small streams end up in memory like small buffers
  while (headBytes <= limits.thresholdBytes) {
    const next = await iterator.next();
    if (next.done) return { body: Buffer.concat(head, headBytes) };
    const chunk = chunkToBuffer(next.value);
    head.push(chunk);
    headBytes += chunk.length;
  }
  return uploadParts(objects, head, iterator, limits, target);
}

async function uploadParts(
  objects: S3Objects,
  head: Buffer[],
  rest: AsyncIterator<unknown>,
  limits: UploadLimits,
  target?: { key: string; header: S3Header },
): Promise<StagedBytes> {
  const { sdk, bucket } = objects;
  // with the header known up front the parts go to the key itself, else to a private staging key
  const key = target?.key ?? objects.stagingKey();
  const start = new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...target?.header });
  const created = await objects.send('CreateMultipartUpload', key, start).catch((error: unknown) => {
    throw objects.wrap(error, 'CreateMultipartUpload', key);
  });
  const uploadId = created.UploadId as string;
  const parts: { PartNumber: number; ETag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let size = 0;
  let nextPart = 1;
  const spare: Buffer[] = [];
  const sendPart = (body: Buffer) => {
    const PartNumber = nextPart++;
    size += body.length;
    const command = new sdk.UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber,
      Body: body,
      ContentLength: body.length,
    });
    const sent: Promise<void> = objects
      .send('UploadPart', key, command)
      .then((out: { ETag?: string }) => {
        parts.push({ PartNumber, ETag: out.ETag ?? '' });
        // S3 answered, so it has every byte: the buffer may hold the next part (no garbage to wait
        // for: V8 frees external buffers late, tens of MB of spent parts would pile up)
        if (body.length === limits.partBytes) spare.push(body);
      })
      .catch((error: unknown) => void (failure ??= objects.wrap(error, 'UploadPart', key)))
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  // Chunks are copied straight into the part being filled (one copy, no concat of concats), and a
  // new part is allocated only once a slot is free: so at most `concurrency + 1` parts are alive.
  let part: Buffer | undefined;
  let filled = 0;
  const take = async (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length;) {
      part ??= spare.pop() ?? Buffer.allocUnsafeSlow(limits.partBytes);
      const copied = chunk.copy(part, filled, offset);
      filled += copied;
      offset += copied;
      if (filled < limits.partBytes) continue;
      sendPart(part);
      part = undefined;
      filled = 0;
      while (inFlight.size >= limits.concurrency) await Promise.race(inFlight);
      if (failure) throw failure;
    }
  };
  try {
    // the head's chunks are dropped as they are copied, not held until the upload ends
    for (let i = 0; i < head.length; i++) {
      const chunk = head[i];
      head[i] = EMPTY;
      await take(chunk);
    }
    head.length = 0;
    for (;;) {
      const next = await rest.next();
      if (next.done) break;
      await take(chunkToBuffer(next.value));
    }
    if (part && filled > 0) sendPart(part.subarray(0, filled));
    part = undefined;
    await Promise.all(inFlight);
    if (failure) throw failure;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    if (target) return { upload: { key, uploadId, parts, header: target.header, size } };
    if (size > MAX_COPY_BYTES) throw new RangeError(`objects above ${MAX_COPY_BYTES} bytes are not supported`);
    const complete = new sdk.CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    });
    await objects.send('CompleteMultipartUpload', key, complete).catch((error: unknown) => {
      throw objects.wrap(error, 'CompleteMultipartUpload', key);
    });
    return { key, size };
  } catch (error) {
    await Promise.allSettled(inFlight);
    await rest.return?.().catch(() => undefined);
    const abort = new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId });
    await objects.send('AbortMultipartUpload', key, abort).catch(() => undefined);
    throw error;
  }
}

/**
 * Publishes a pending upload iff `condition` holds (S3 checks it atomically on completion): `false`
 * when it does not, the upload then still pending (abort it with `abortUpload`).
 */
export function completeUpload(
  objects: S3Objects,
  upload: PendingUpload,
  condition: { ifMatch?: string; ifNoneMatch?: '*' },
): Promise<boolean> {
  const { sdk, bucket } = objects;
  const command = new sdk.CompleteMultipartUploadCommand({
    Bucket: bucket,
    Key: upload.key,
    UploadId: upload.uploadId,
    MultipartUpload: { Parts: upload.parts },
    IfMatch: condition.ifMatch,
    IfNoneMatch: condition.ifNoneMatch,
  });
  return objects.conditional('CompleteMultipartUpload', upload.key, command);
}

export async function abortUpload(objects: S3Objects, upload: PendingUpload): Promise<void> {
  const { sdk, bucket } = objects;
  const abort = new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId });
  await objects.send('AbortMultipartUpload', upload.key, abort);
}
