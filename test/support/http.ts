import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { Readable } from 'node:stream';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: the path is sent exactly as given (no URL normalisation of `..`). */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A deterministic pseudo-random stream of `totalBytes`, hashed as it is produced. */
export function generatedStream(totalBytes: number, chunkBytes = 1 << 20): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const block = Buffer.alloc(chunkBytes);
  let produced = 0;
  let counter = 0;
  const stream = new Readable({
    read() {
      if (produced >= totalBytes) {
        this.push(null);
        return;
      }
      const size = Math.min(chunkBytes, totalBytes - produced);
      // vary every chunk so a misplaced or repeated chunk changes the hash
      block.writeUInt32BE(counter++, 0);
      block.writeUInt32BE(produced >>> 0, size >= 8 ? 4 : 0);
      const chunk = Buffer.from(block.subarray(0, size));
      hash.update(chunk);
      produced += size;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

/** Streams a body up with PUT. */
export function streamUpload(
  baseUrl: string,
  path: string,
  body: Readable,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path,
        headers: { 'content-type': 'application/octet-stream', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    body.on('error', reject);
    body.pipe(req);
  });
}

/** Streams a body down with GET, hashing it; returns status, byte count and sha256. */
export function streamDownload(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: number; sha256: string; headers: http.IncomingHttpHeaders }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path, headers }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, bytes, sha256: hash.digest('hex'), headers: res.headers }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
