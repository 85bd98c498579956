/**
 * A real S3 peer for the tests: s3rver 3.7.1 in this process on a free port of 127.0.0.1, over a
 * fresh temp dir, with the buckets asked for, behind `fault-proxy` (which adds what s3rver lacks
 * of S3's atomic conditional writes, and injects faults on demand). `stop` closes both and
 * removes the dir.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startFaultProxy, type FaultProxy } from './fault-proxy';

export interface S3Peer {
  /** Through the proxy: what connectors under test use. */
  readonly endpoint: string;
  /** s3rver itself (no conditional writes, no faults). */
  readonly directEndpoint: string;
  readonly proxy: FaultProxy;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dir: string;
  /** Settings for the S3 connectors (add `bucket` / `bucketName`). */
  settings(): {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: true;
    checksums: 'WHEN_REQUIRED';
  };
  stop(): Promise<void>;
}

/** Splits a key segment too long for a file name; a control character (never in ids or keys) marks it. */
const JOIN = '\u0001/';
const PIECE_CHARS = 50;

/**
 * s3rver keeps an object in a file named after its last key segment plus a suffix, so a 255-byte
 * segment (which S3 and the library take) overflows the file system's 255-byte name limit. Long
 * segments are stored as nested folders instead, reversibly; the keys S3 clients see are unchanged.
 */
function allowLongSegments(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver ships no types
  const store = require('s3rver/lib/stores/filesystem') as {
    encodeKeyPath(key: string): string;
    decodeKeyPath(path: string): string;
    sreLongSegments?: boolean;
  };
  if (store.sreLongSegments) return;
  store.sreLongSegments = true;
  store.encodeKeyPath = (key) =>
    key
      .split('/')
      .map((segment) =>
        Buffer.byteLength(segment) <= 200
          ? segment
          : (segment.match(new RegExp(`[\\s\\S]{1,${PIECE_CHARS}}`, 'gu')) ?? []).join(JOIN),
      )
      .join('/');
  store.decodeKeyPath = (path) => path.split(JOIN).join('');
}

export async function startS3Peer(buckets: string[]): Promise<S3Peer> {
  allowLongSegments();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver ships no types
  const S3rver = require('s3rver') as new (options: object) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const proxy = await startFaultProxy({ host: '127.0.0.1', port });
  let stopped = false;
  const peer: S3Peer = {
    endpoint: proxy.endpoint,
    directEndpoint: `http://127.0.0.1:${port}`,
    proxy,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    dir,
    settings: () => ({
      endpoint: peer.endpoint,
      region: peer.region,
      accessKeyId: peer.accessKeyId,
      secretAccessKey: peer.secretAccessKey,
      forcePathStyle: true,
      checksums: 'WHEN_REQUIRED',
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await proxy.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return peer;
}
