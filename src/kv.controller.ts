import { Controller, Delete, Get, HttpCode, Logger, NotFoundException, Param, Put, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessCandidate, NKVService, type NKVValue } from 'nestjs-sre';
import { Team } from './candidate';
import { isClientAbort, logClientAbort } from './http-safety';
import { parseJson, readBody } from './read-body';

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
      text = await readBody(req, MAX_BODY_BYTES, 'kv values');
    } catch (error) {
      if (!isClientAbort(req, error)) throw error;
      logClientAbort(this.logger, 'kv value', `${namespace}/${key}`);
      return;
    }
    const value = parseJson(text, 'the body must be a JSON value') as NKVValue;
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
