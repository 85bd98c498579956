import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import type { Request } from 'express';

/**
 * The request body as UTF-8, at most `maxBytes` (413 past it, refused from `Content-Length`
 * before reading when announced). The rest of an oversized body is drained, not read into memory,
 * so the 413 reaches the client. A client that goes away mid-body rejects with an `ECONNRESET`
 * error (see `isClientAbort`). `what` (plural) names the body in the 413's message.
 */
export function readBody(req: Request, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () => new PayloadTooLargeException(`${what} are limited to ${maxBytes} bytes`);
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      chunks.length = 0;
      req.resume();
      reject(tooLarge());
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** `text` parsed as JSON, else a 400 with `message` (V8's own message quotes the body: never echoed back). */
export function parseJson(text: string, message: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestException(message);
  }
}
