import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
import { SecretSetting } from '../../core/secrets';
import { TimeoutMsSetting } from '../../core/setting-decorators';
import { EmbeddingsSettings } from '../embeddings/embedder';
import { ChunkOverlapSetting, ChunkSizeSetting, EmbeddingsSetting } from './vector-connector-settings';

/** Pinecone's limit of vectors per upsert request. */
export const MAX_UPSERT_VECTORS = 1000;

export class PineconeSettings {
  /** Default: the environment variable `PINECONE_API_KEY`. Never logged or part of an error (W36). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  apiKey?: string;

  @IsString()
  @Matches(/^[a-z0-9-]{1,45}$/, { message: 'must be 1-45 of a-z 0-9 - (a Pinecone index name)' })
  indexName!: string;

  /** The control plane, for a local or self-hosted Pinecone (`http://localhost:5080`); the scheme is required. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  controllerHostUrl?: string;

  /** Create the index (serverless, cosine, the embeddings' dimensions) when it does not exist. */
  @IsOptional()
  @IsBoolean()
  createIndexIfMissing?: boolean = false;

  @IsOptional()
  @IsIn(['aws', 'gcp', 'azure'])
  cloud?: string = 'aws';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  region?: string = 'us-east-1';

  /** The records of namespaces and datasources live in NKV under this platform team. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1-128 of A-Z a-z 0-9 . _ : -' })
  recordsTeam?: string = 'sre-vectordb';

  @EmbeddingsSetting()
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's Pinecone default). */
  @ChunkSizeSetting(100_000)
  chunkSize?: number = 2000;

  @ChunkOverlapSetting(99_999)
  chunkOverlap?: number = 200;

  /** Vectors per upsert request (Pinecone takes up to 1000 and 2 MB; requests are split by size too). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_UPSERT_VECTORS)
  upsertBatchSize?: number = 100;

  /** Upsert requests in flight at once for one datasource. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(32)
  upsertConcurrency?: number = 4;

  /** Retries of a request answered 429 or 5xx (honouring `retry-after`). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  maxRetries?: number = 3;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  retryDelayMs?: number = 250;

  @TimeoutMsSetting()
  timeoutMs?: number = 30_000;
}
