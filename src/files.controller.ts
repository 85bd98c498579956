import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  Head,
  HttpCode,
  Logger,
  NotFoundException,
  Post,
  Put,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessCandidate, StorageService } from 'nestjs-sre';
import { pathAfter, Team } from './candidate';
import { downloadHeaders, isClientAbort, logClientAbort } from './http-safety';

/**
 * `/files/<path>`: bytes streamed in and out of Storage, never buffered whole. Files come back as
 * downloads with their stored `Content-Type`, under a sandboxing CSP: a user's HTML never runs as
 * this origin's page.
 */
@Controller('files')
export class FilesController {
  private readonly logger = new Logger(FilesController.name);

  constructor(private readonly storage: StorageService) {}

  // @Res(): an upload the client aborted gets no answer at all (its connection is gone)
  @Put('*path')
  async upload(@Req() req: Request, @Res() res: Response, @Team() team: AccessCandidate): Promise<void> {
    const path = pathAfter(req, '/files/');
    try {
      await this.storage
        .requester(team)
        .write(path, req, undefined, { ContentType: req.headers['content-type'] ?? 'application/octet-stream' });
    } catch (error) {
      // the write is atomic: an aborted body leaves neither the file nor a temp file behind
      if (!isClientAbort(req, error)) throw error;
      logClientAbort(this.logger, 'upload of', path);
      return;
    }
    res.status(201).json({ path });
  }

  // HEAD before GET: Express would otherwise answer HEAD with the GET handler
  @Head('*path')
  async head(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Team() team: AccessCandidate,
  ): Promise<void> {
    const path = pathAfter(req, '/files/');
    const stat = await this.storage.requester(team).stat(path);
    if (!stat) throw new NotFoundException();
    res.setHeader('Content-Type', stat.contentType ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(stat.size));
    res.set(downloadHeaders(path));
  }

  @Get('*path')
  async download(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Team() team: AccessCandidate,
  ): Promise<StreamableFile> {
    const path = pathAfter(req, '/files/');
    // one call: the headers and the body come from the same version, even while a PUT replaces it
    const found = await this.storage.requester(team).readStreamWithStat(path);
    if (!found) throw new NotFoundException(`no file at '${path}'`);
    const { stream, stat } = found;
    res.set(downloadHeaders(path));
    return new StreamableFile(stream, { type: stat.contentType ?? 'application/octet-stream', length: stat.size });
  }

  /**
   * `POST /files/<path>?share=60`: a temporary URL for the file that works without the team header
   * until it expires (the Router serves it; access is checked again on every download).
   */
  @Post('*path')
  @HttpCode(201)
  async share(
    @Req() req: Request,
    @Team() team: AccessCandidate,
    @Query('share') share?: string,
  ): Promise<{ url: string; expiresInSeconds: number }> {
    const ttlSeconds = Number(share);
    if (share === undefined || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > 86_400)
      throw new BadRequestException('share must be a whole number of seconds from 1 to 86400');
    const url = await this.storage.requester(team).createTempUrl(pathAfter(req, '/files/'), { ttlSeconds });
    return { url, expiresInSeconds: ttlSeconds };
  }

  @Delete('*path')
  @HttpCode(204)
  async remove(@Req() req: Request, @Team() team: AccessCandidate): Promise<void> {
    await this.storage.requester(team).delete(pathAfter(req, '/files/'));
  }
}
