import { BadRequestException, Controller, Get, HttpCode, Logger, Param, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AccessCandidate, VectorDBService, type DatasourceDto, type VectorMetadataFilter } from 'nestjs-sre';
import { Team } from './candidate';
import { isClientAbort, logClientAbort } from './http-safety';
import { parseJson, readBody } from './read-body';

const MAX_BODY_BYTES = 1 << 20;
const MAX_TEXTS = 100;
const MAX_K = 100;

/** A datasource as this route answers it: what was stored, without the text or the vectors. */
export interface StoredSummary {
  id: string;
  label: string;
  chunks: number;
}

/** A search hit without its vector (hundreds of numbers nobody reads in a response). */
export interface SearchHit {
  id: string;
  score?: number;
  text: string;
  metadata?: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The datasources a body asks for: `{ texts: [...] }` (one each) or one `{ id?, text, label?, metadata? }`. */
function datasourcesOf(body: unknown): DatasourceDto[] {
  if (!isPlainObject(body)) throw new BadRequestException('the body must be a JSON object');
  if ('texts' in body) {
    const { texts, ...rest } = body;
    if (Object.keys(rest).length) throw new BadRequestException("give either 'texts' or one datasource, not both");
    if (
      !Array.isArray(texts) ||
      texts.length === 0 ||
      texts.length > MAX_TEXTS ||
      !texts.every((text) => typeof text === 'string' && text.trim() !== '')
    )
      throw new BadRequestException(`texts: a list of 1 to ${MAX_TEXTS} non-empty strings`);
    return texts.map((text: string) => ({ text }));
  }
  const { id, text, label, metadata, ...rest } = body;
  const unknown = Object.keys(rest);
  if (unknown.length)
    throw new BadRequestException(`unknown field '${unknown[0]}' (use texts, or id, text, label, metadata)`);
  if (typeof text !== 'string') throw new BadRequestException("give 'texts' (a list) or a 'text'");
  return [
    {
      text,
      id: id as string | undefined,
      label: label as string | undefined,
      metadata: metadata as DatasourceDto['metadata'],
    },
  ];
}

/**
 * `/vectors/<namespace>`: semantic search over texts, in the caller's team's namespaces (another
 * team never sees them). `POST` stores texts (`{ texts: [...] }`, or one datasource
 * `{ id?, text, label?, metadata? }`), creating the namespace on first use; `GET .../search?q=&k=`
 * answers the `k` closest chunks (default 5), `filter=` a JSON object of metadata fields to match
 * (`{"lang":"en"}`, `{"lang":{"$in":["en","de"]}}`). The example app embeds locally, with no key.
 */
@Controller('vectors')
export class VectorsController {
  private readonly logger = new Logger(VectorsController.name);

  constructor(private readonly vectors: VectorDBService) {}

  @Post(':namespace')
  @HttpCode(201)
  async store(
    @Req() req: Request,
    @Param('namespace') namespace: string,
    @Team() team: AccessCandidate,
  ): Promise<{ namespace: string; datasources: StoredSummary[] }> {
    let text: string;
    try {
      text = await readBody(req, MAX_BODY_BYTES, 'vector requests');
    } catch (error) {
      if (!isClientAbort(req, error)) throw error;
      logClientAbort(this.logger, 'vector request for namespace', namespace);
      return { namespace, datasources: [] };
    }
    const body = parseJson(text, 'the body must be JSON');
    const wanted = datasourcesOf(body);
    const vectors = this.vectors.requester(team);
    await vectors.createNamespace(namespace);
    const datasources: StoredSummary[] = [];
    // one after the other: the local model shares this thread, and a failure stops the rest
    for (const dto of wanted) {
      const stored = await vectors.createDatasource(namespace, dto);
      datasources.push({ id: stored.id, label: stored.name, chunks: stored.vectorIds.length });
    }
    return { namespace, datasources };
  }

  @Get(':namespace/search')
  async search(
    @Param('namespace') namespace: string,
    @Team() team: AccessCandidate,
    @Query('q') q?: unknown,
    @Query('k') k?: unknown,
    @Query('filter') filter?: unknown,
  ): Promise<{ namespace: string; query: string; results: SearchHit[] }> {
    if (typeof q !== 'string' || q.trim() === '') throw new BadRequestException('q: the text to search for');
    const topK = k === undefined ? 5 : Number(k);
    if (typeof k === 'object' || !Number.isInteger(topK) || topK < 1 || topK > MAX_K)
      throw new BadRequestException(`k: an integer from 1 to ${MAX_K}`);
    if (filter !== undefined && typeof filter !== 'string') throw new BadRequestException('filter: one JSON object');
    const parsed = filter === undefined ? undefined : parseJson(filter, 'filter: a JSON object of metadata fields');
    const results = await this.vectors
      .requester(team)
      .search(namespace, q, { topK, includeMetadata: true, filter: parsed as VectorMetadataFilter | undefined });
    return {
      namespace,
      query: q,
      results: results.map(({ id, score, text, metadata }) => ({ id, score, text, metadata })),
    };
  }
}
