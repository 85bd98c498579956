import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';

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
