import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  PayloadTooLargeException,
  Put,
  Query,
  Req,
} from '@nestjs/common';
import type { Request } from 'express';
import { AccessCandidate, CacheService } from 'nestjs-sre';
import { pathAfter, Team } from './candidate';

const MAX_VALUE_BYTES = 1 << 20;

/** `/cache/<key>`: small text values with an optional TTL in seconds (`?ttl=60`). */
@Controller('cache')
export class CacheController {
  constructor(private readonly cache: CacheService) {}

  @Put('*key')
  @HttpCode(204)
  async put(@Req() req: Request, @Query('ttl') ttl: string | undefined, @Team() team: AccessCandidate): Promise<void> {
    const ttlSeconds = ttl === undefined ? undefined : Number(ttl);
    if (ttlSeconds !== undefined && (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0))
      throw new BadRequestException('ttl must be a positive number of seconds');
    const value = await readText(req);
    await this.cache.requester(team).set(pathAfter(req, '/cache/'), value, undefined, undefined, ttlSeconds);
  }

  @Get('*key')
  async get(@Req() req: Request, @Team() team: AccessCandidate): Promise<string> {
    const key = pathAfter(req, '/cache/');
    const value = await this.cache.requester(team).get(key);
    if (value === undefined) throw new NotFoundException(`no cache entry '${key}'`);
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
