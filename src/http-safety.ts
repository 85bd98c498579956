import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * `X-Content-Type-Options: nosniff` on every response: a browser takes each `Content-Type` as
 * given and never guesses HTML or script out of a stored value.
 */
export function noSniff(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}

/**
 * Headers for serving a user's file: a download (`attachment`, named after the path's last
 * segment) under a CSP that forbids every resource and sandboxes the document, so even a browser
 * that renders it inline runs no script on this origin. The stored `Content-Type` is kept.
 */
export function downloadHeaders(path: string): Record<string, string> {
  return {
    'Content-Disposition': attachment(path.slice(path.lastIndexOf('/') + 1)),
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
}

/** `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266). */
function attachment(name: string): string {
  if (!name) return 'attachment';
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Whether a request failed because its client went away mid-body (closed or reset the connection
 * before the body ended), not because of the server: the body is incomplete, the connection is
 * gone, and the error (or one of its causes) is the request stream's own. There is nobody to
 * answer then, and nothing to fix on the server.
 */
export function isClientAbort(req: Request, error: unknown): boolean {
  if (req.complete || !(req.destroyed || req.socket?.destroyed)) return false;
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if ((code !== undefined && ABORT_CODES.has(code)) || current.message === 'aborted') return true;
    current = current.cause;
  }
  return false;
}

/** One WARN line (no stack) for an aborted request; the key is quoted as JSON so it cannot forge lines. */
export function logClientAbort(logger: Logger, what: string, key: string): void {
  logger.warn(`${what} ${JSON.stringify(key)} aborted by the client before its body ended: nothing stored`);
}
