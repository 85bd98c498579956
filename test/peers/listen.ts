import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

/** A peer's HTTP server listening on a free port of 127.0.0.1, and how to stop it. */
export interface LocalListener {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Drops every open connection (keep-alive ones too) and closes the server. */
  close(): Promise<void>;
}

/** Listens on a port the OS picks (never a fixed one), so peers of parallel test files never clash. */
export async function listenLocally(server: http.Server): Promise<LocalListener> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Collects a request's body and hands it over parsed as a JSON object (an empty body as `{}`), or
 * `undefined` when it is not JSON (the peer answers that in its provider's error shape).
 */
export function onJsonBody(req: Pick<Readable, 'on'>, then: (body: Record<string, unknown> | undefined) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    then(body);
  });
}
