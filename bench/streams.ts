import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const CHUNK = 64 * 1024;

/** `total` bytes as a stream of fresh 64 KB chunks: never one big buffer. */
export function byteSource(total: number): Readable {
  let produced = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (produced >= total) return void this.push(null);
      const size = Math.min(CHUNK, total - produced);
      const chunk = Buffer.allocUnsafe(size);
      chunk[0] = produced & 0xff;
      this.push(chunk);
      produced += size;
    },
  });
}

/** Counts and drops what it receives. */
export function countingSink(): Writable & { bytes: number } {
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  out.bytes = 0;
  return out;
}

/** Drains a stream, checking it carried `expected` bytes. */
export async function drain(stream: Readable, expected: number): Promise<void> {
  const sink = countingSink();
  await pipeline(stream, sink);
  if (sink.bytes !== expected) throw new Error(`read ${sink.bytes} bytes, expected ${expected}`);
}
