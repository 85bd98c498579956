import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessCandidate, CacheService } from 'nestjs-sre';
import { pathAfter, Team } from './candidate';
import { isClientAbort, logClientAbort } from './http-safety';

const MAX_VALUE_BYTES = 1 << 20;

/**
 * `/cache/<key>`: small text values with an optional TTL in seconds (`?ttl=60`), always served
 * back as `text/plain` (never as HTML, whatever they contain).
 */
@Controller('cache')
export class CacheController {
  private readonly logger = new Logger(CacheController.name);

  constructor(private readonly cache: CacheService) {}

  // @Res(): a value whose client aborted mid-body gets no answer at all (its connection is gone)
  @Put('*key')
  async put(
    @Req() req: Request,
    @Res() res: Response,
    @Query('ttl') ttl: string | undefined,
    @Team() team: AccessCandidate,
  ): Promise<void> {
    const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
    if (ttlSeconds !== undefined && (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0))
      throw new BadRequestException('ttl must be a positive number of seconds');
    const key = pathAfter(req, '/cache/');
    let value: string;
    try {
      value = await readText(req);
    } catch (error) {
      if (!isClientAbort(req, error)) throw error;
      logClientAbort(this.logger, 'cache value', key);
      return;
    }
    await this.cache.requester(team).set(key, value, undefined, undefined, ttlSeconds);
    res.status(204).end();
  }

  @Get('*key')
  async get(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Team() team: AccessCandidate,
  ): Promise<string> {
    const key = pathAfter(req, '/cache/');
    const value = await this.cache.requester(team).get(key);
    if (value === undefined) throw new NotFoundException(`no cache entry '${key}'`);
    // set here, not with @Header(): error answers stay application/json
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  @Delete('*key')
  @HttpCode(204)
  async remove(@Req() req: Request, @Team() team: AccessCandidate): Promise<void> {
    await this.cache.requester(team).delete(pathAfter(req, '/cache/'));
  }
}

async function readText(req: Request): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_VALUE_BYTES)
      throw new PayloadTooLargeException(`cache values are limited to ${MAX_VALUE_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
