import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Logger,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Put,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessCandidate, NKVService, type NKVValue } from 'nestjs-sre';
import { Team } from './candidate';
import { isClientAbort, logClientAbort } from './http-safety';

const MAX_BODY_BYTES = 1 << 20;

/**
 * `/kv/<namespace>/<key>`: JSON values in NKV, in the caller's team's namespaces (another team
 * sees its own namespaces, never these). Values always come back as `application/json`.
 */
@Controller('kv')
export class KvController {
  private readonly logger = new Logger(KvController.name);

  constructor(private readonly nkv: NKVService) {}

  // @Res(): a body whose client aborted mid-way gets no answer at all (its connection is gone)
  @Put(':namespace/:key')
  async put(
    @Req() req: Request,
    @Res() res: Response,
    @Param('namespace') namespace: string,
    @Param('key') key: string,
    @Team() team: AccessCandidate,
  ): Promise<void> {
    let text: string;
    try {
      text = await readBody(req);
    } catch (error) {
      if (!isClientAbort(req, error)) throw error;
      logClientAbort(this.logger, 'kv value', `${namespace}/${key}`);
      return;
    }
    let value: NKVValue;
    try {
      value = JSON.parse(text) as NKVValue;
    } catch {
      // V8's message quotes the body: never echo it back
      throw new BadRequestException('the body must be a JSON value');
    }
    await this.nkv.requester(team).set(namespace, key, value);
    res.status(204).end();
  }

  @Get(':namespace/:key')
  async get(
    @Res() res: Response,
    @Param('namespace') namespace: string,
    @Param('key') key: string,
    @Team() team: AccessCandidate,
  ): Promise<void> {
    const value = await this.nkv.requester(team).get(namespace, key);
    if (value === undefined) throw new NotFoundException(`no key '${key}' in namespace '${namespace}'`);
    // res.json for every value: a string or null is sent as JSON, never as text/html
    res.status(200).json(value);
  }

  @Delete(':namespace/:key')
  @HttpCode(204)
  async remove(
    @Param('namespace') namespace: string,
    @Param('key') key: string,
    @Team() team: AccessCandidate,
  ): Promise<void> {
    await this.nkv.requester(team).delete(namespace, key);
  }

  /** Every entry of the namespace: `{ namespace, entries: [{ key, value }] }` (empty when it has none). */
  @Get(':namespace')
  async list(
    @Param('namespace') namespace: string,
    @Team() team: AccessCandidate,
  ): Promise<{ namespace: string; entries: { key: string; value: NKVValue }[] }> {
    const entries = await this.nkv.requester(team).list(namespace);
    return { namespace, entries: entries.map(({ key, data }) => ({ key, value: data })) };
  }
}

/**
 * The request body as UTF-8, at most MAX_BODY_BYTES (413 past it, refused from `Content-Length`
 * before reading when announced). The rest of an oversized body is drained, not read into memory,
 * so the 413 reaches the client.
 */
function readBody(req: Request): Promise<string> {
  const tooLarge = () => new PayloadTooLargeException(`kv values are limited to ${MAX_BODY_BYTES} bytes`);
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
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
