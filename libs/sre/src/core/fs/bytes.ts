import type { Readable } from 'node:stream';
import { SreInvalidInputError } from '../errors';

/** Bytes, UTF-8 text, or a stream (a `Readable` or any async iterable) of either. */
export type ByteSource = string | Buffer | Uint8Array | Readable | AsyncIterable<unknown>;

/** `data` as a Buffer (a view, not a copy) when it is bytes or text; `undefined` otherwise. */
export function toBuffer(data: unknown): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

export function isByteStream(data: unknown): data is AsyncIterable<unknown> {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** Throws `SreInvalidInputError` unless `data` is bytes, text or a stream. */
export function assertByteSource(data: unknown): asserts data is ByteSource {
  if (toBuffer(data) === undefined && !isByteStream(data))
    throw new SreInvalidInputError('data must be a string, Buffer, Uint8Array or Readable');
}

/** One chunk of a byte stream as a Buffer; `SreInvalidInputError` for anything but bytes or text. */
export function chunkToBuffer(chunk: unknown): Buffer {
  const buffer = toBuffer(chunk);
  if (!buffer) throw new SreInvalidInputError('a data stream must yield strings, Buffers or Uint8Arrays');
  return buffer;
}

/**
 * The whole of `data` in one new Buffer (never shared with the caller's). A stream's own error
 * rejects as it is. For in-memory backends: file backends stream instead (see `AtomicFiles`).
 */
export async function collectBytes(data: ByteSource): Promise<Buffer> {
  assertByteSource(data);
  const whole = toBuffer(data);
  if (whole) return Buffer.from(whole);
  const chunks: Buffer[] = [];
  for await (const chunk of data as AsyncIterable<unknown>) chunks.push(chunkToBuffer(chunk));
  return Buffer.concat(chunks);
}
