/**
 * An HTTP proxy in front of an S3 peer, for two jobs:
 * - faithfulness: s3rver ignores conditional writes and writes objects in place. The proxy applies
 *   what real S3 applies atomically: `If-None-Match: *` and `If-Match` on PutObject, CopyObject,
 *   CompleteMultipartUpload and DeleteObject (412 when they fail), every request on one key in turn,
 *   and a GET answered from a copy taken under that turn (S3 serves one version whole while it is
 *   replaced or deleted);
 * - faults: the next N requests (optionally only those matching a filter) answer 503 SlowDown,
 *   have their connection dropped, or stall until the client gives up.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

export type FaultKind = 'slowdown' | 'drop' | 'stall';

export interface Fault {
  kind: FaultKind;
  /** How many matching requests get it. */
  count: number;
  /** Only requests for which this is true (default: every request). */
  when?: (request: { method: string; url: string }) => boolean;
}

export interface FaultProxy {
  readonly endpoint: string;
  /** Injects faults from now on (replacing any left). */
  inject(fault: Fault): void;
  /** Requests that got a fault so far. */
  readonly faulted: number;
  /** Requests forwarded to the peer so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
/** GET bodies above this are copied to a temp file instead of memory. */
const MEMORY_COPY_BYTES = 8 * 1024 * 1024;

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let fault: Fault | undefined;
  let faulted = 0;
  let forwarded = 0;
  const turns = new Map<string, Promise<void>>();
  const stalled = new Set<http.ServerResponse>();
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-s3-proxy-'));
  let spooled = 0;

  /** Runs `work` when every earlier request on `key` is done. */
  const inTurn = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const before = turns.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const chained = before.then(() => mine);
    turns.set(key, chained);
    await before;
    try {
      return await work();
    } finally {
      done();
      if (turns.get(key) === chained) turns.delete(key);
    }
  };

  const forward = (req: http.IncomingMessage): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      forwarded++;
      const upstream = http.request(
        { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
        resolve,
      );
      upstream.on('error', reject);
      req.pipe(upstream);
    });

  /** The key's current ETag (unquoted), or `undefined` when it does not exist; s3rver serves anonymous HEADs. */
  const etagOf = (pathname: string): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const probe = http.request({ host: target.host, port: target.port, method: 'HEAD', path: pathname }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? String(res.headers.etag).replace(/"/g, '') : undefined);
      });
      probe.on('error', reject);
      probe.end();
    });

  const server = http.createServer((req, res) => {
    void (async () => {
      if (fault && fault.count > 0 && (fault.when?.({ method: req.method!, url: req.url! }) ?? true)) {
        fault.count--;
        faulted++;
        if (fault.kind === 'slowdown') {
          req.resume();
          res.writeHead(503, { 'content-type': 'application/xml' }).end(SLOW_DOWN);
        } else if (fault.kind === 'drop') req.socket.destroy();
        else {
          stalled.add(res);
          res.on('close', () => stalled.delete(res));
        }
        return;
      }
      const url = new URL(req.url!, 'http://peer');
      const [, bucket, ...rest] = url.pathname.split('/');
      const key = rest.join('/');
      const isPart = url.searchParams.has('partNumber') || url.searchParams.has('uploads');
      const isAbort = req.method === 'DELETE' && url.searchParams.has('uploadId');
      if (!key || isPart || isAbort) return relay(await forward(req), res);
      await inTurn(`${bucket}/${key}`, async () => {
        const ifMatch = req.headers['if-match']?.replace(/"/g, '');
        const ifNoneMatch = req.headers['if-none-match'];
        if (req.method !== 'GET' && req.method !== 'HEAD' && (ifMatch !== undefined || ifNoneMatch === '*')) {
          const etag = await etagOf(url.pathname);
          if ((ifNoneMatch === '*' && etag !== undefined) || (ifMatch !== undefined && etag !== ifMatch)) {
            req.resume();
            res.writeHead(412, { 'content-type': 'application/xml' });
            res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code></Error>');
            return;
          }
        }
        const upstream = await forward(req);
        if (req.method !== 'GET') return relay(upstream, res);
        // copied whole while it is this key's turn: a later write cannot cut or mix it
        const size = Number(upstream.headers['content-length'] ?? 0);
        if (size <= MEMORY_COPY_BYTES) {
          const chunks: Buffer[] = [];
          for await (const chunk of upstream) chunks.push(chunk as Buffer);
          res.writeHead(upstream.statusCode!, upstream.headers);
          res.end(Buffer.concat(chunks));
          return;
        }
        const file = path.join(spool, String(spooled++));
        await pipeline(upstream, fs.createWriteStream(file));
        res.writeHead(upstream.statusCode!, upstream.headers);
        const copy = fs.createReadStream(file);
        copy.on('close', () => fs.rm(file, { force: true }, () => undefined));
        copy.pipe(res);
      });
    })().catch((error: Error) => {
      if (!res.headersSent) res.writeHead(502).end(String(error.message));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (next) => void (fault = { ...next }),
    get faulted() {
      return faulted;
    },
    get forwarded() {
      return forwarded;
    },
    close: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(spool, { recursive: true, force: true });
    },
  };
}

function relay(upstream: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.writeHead(upstream.statusCode!, upstream.headers);
  return pipeline(upstream, res);
}
