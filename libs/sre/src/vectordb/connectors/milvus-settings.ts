import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { SecretSetting } from '../../core/secrets';
import { TimeoutMsSetting } from '../../core/setting-decorators';
import { EmbeddingsSettings } from '../embeddings/embedder';
import { COLLECTION_PREFIX } from './milvus-schema';
import { ChunkOverlapSetting, ChunkSizeSetting, EmbeddingsSetting } from './vector-connector-settings';

/** Where the connector reaches Milvus (the seed's shape): a token, or a user and password. */
export class MilvusCredentials {
  /** `host:port` (insecure), `https://host:port` (TLS), or a Zilliz Cloud endpoint. */
  @IsString()
  @IsNotEmpty()
  address!: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  token?: string;

  @ValidateIf((credentials: MilvusCredentials) => credentials.user !== undefined || credentials.password !== undefined)
  @IsString({ message: 'must be a string (user and password go together)' })
  @IsNotEmpty({ message: 'must not be empty (user and password go together)' })
  user?: string;

  @ValidateIf((credentials: MilvusCredentials) => credentials.user !== undefined || credentials.password !== undefined)
  @IsString({ message: 'must be a string (user and password go together)' })
  @IsNotEmpty({ message: 'must not be empty (user and password go together)' })
  @SecretSetting()
  password?: string;
}

export class MilvusSettings {
  @IsDefined({ message: 'is required: { address, token } or { address, user, password }' })
  @ValidateNested()
  @Type(() => MilvusCredentials)
  credentials!: MilvusCredentials;

  @EmbeddingsSetting()
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's Milvus default). */
  @ChunkSizeSetting(16_000)
  chunkSize?: number = 1000;

  @ChunkOverlapSetting(15_999)
  chunkOverlap?: number = 200;

  /** Start of every collection name this connector creates (and the only ones it lists). */
  @IsOptional()
  @Matches(COLLECTION_PREFIX, { message: 'must be 1-32 of A-Z a-z 0-9 _, not starting with a digit' })
  collectionPrefix?: string = 'sre';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  database?: string;

  @IsOptional()
  @IsBoolean()
  ssl?: boolean;

  @TimeoutMsSetting()
  timeoutMs?: number = 30_000;

  /**
   * Where datasource records live: `auto` (NKV when the application provides it, else the
   * collection), `nkv` (boot fails without it) or `collection`.
   */
  @IsOptional()
  @IsIn(['auto', 'nkv', 'collection'])
  datasourceRecords?: 'auto' | 'nkv' | 'collection' = 'auto';

  /** The NKV team scope that holds the records (one for the connector: records belong to namespaces). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 . _ -' })
  recordsTeam?: string = 'sre-vectordb';
}
