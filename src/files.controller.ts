import {
  Controller,
  Delete,
  Get,
  Head,
  HttpCode,
  NotFoundException,
  Put,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessCandidate, StorageService } from 'nestjs-sre';
import { pathAfter, Team } from './candidate';

/** `/files/<path>`: bytes streamed in and out of Storage, never buffered whole. */
@Controller('files')
export class FilesController {
  constructor(private readonly storage: StorageService) {}

  @Put('*path')
  @HttpCode(201)
  async upload(@Req() req: Request, @Team() team: AccessCandidate): Promise<{ path: string }> {
    const path = pathAfter(req, '/files/');
    await this.storage
      .requester(team)
      .write(path, req, undefined, { ContentType: req.headers['content-type'] ?? 'application/octet-stream' });
    return { path };
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
    return new StreamableFile(stream, { type: stat.contentType ?? 'application/octet-stream', length: stat.size });
  }

  @Delete('*path')
  @HttpCode(204)
  async remove(@Req() req: Request, @Team() team: AccessCandidate): Promise<void> {
    await this.storage.requester(team).delete(pathAfter(req, '/files/'));
  }
}
