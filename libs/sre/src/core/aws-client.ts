import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, IsUrl, Max, Min, ValidateIf } from 'class-validator';
import { defineSharedConnection } from './connection';
import { SecretSetting } from './secrets';

/**
 * The AWS settings every AWS connector shares (S3, Secrets Manager, Lambda, Cognito, Bedrock). The
 * seed spells the key pair two ways (`accessKeyId` and `awsAccessKeyId`); both are accepted.
 */
export class AwsClientSettings {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  region?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  accessKeyId?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  secretAccessKey?: string;

  /** The seed's other spelling of `accessKeyId`. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  awsAccessKeyId?: string;

  /** The seed's other spelling of `secretAccessKey`. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  awsSecretAccessKey?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  sessionToken?: string;

  /**
   * An S3-compatible or local endpoint (MinIO, R2, s3rver, a wire-compatible test peer). Empty is
   * the same as absent, so that one config file serves both: `"endpoint": "${S3_ENDPOINT:-}"`.
   */
  @ValidateIf((_, value) => value !== undefined && value !== null && value !== '')
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  endpoint?: string;

  /** Total attempts per request, the first included (the SDK's standard retry mode). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  maxAttempts?: number = 3;

  @IsOptional()
  @IsBoolean()
  forcePathStyle?: boolean;
}

/** The plain config object every AWS SDK v3 client constructor takes. */
export interface AwsClientConfig {
  region: string;
  /** Absent: the SDK's default credential chain (environment, profile, IAM role) decides. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  endpoint?: string;
  maxAttempts: number;
  forcePathStyle?: boolean;
}

/** Explicit keys win; without both keys the default credential chain is used (IAM roles). */
export function toAwsClientConfig(
  settings: AwsClientSettings & { awsAccessKeyId?: string; awsSecretAccessKey?: string },
  env: NodeJS.ProcessEnv = process.env,
): AwsClientConfig {
  const accessKeyId = settings.accessKeyId ?? settings.awsAccessKeyId;
  const secretAccessKey = settings.secretAccessKey ?? settings.awsSecretAccessKey;
  const config: AwsClientConfig = {
    region: settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    maxAttempts: settings.maxAttempts ?? 3,
  };
  if (accessKeyId && secretAccessKey)
    config.credentials = {
      accessKeyId,
      secretAccessKey,
      ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  if (settings.forcePathStyle !== undefined) config.forcePathStyle = settings.forcePathStyle;
  return config;
}

/**
 * One AWS client configuration for every AWS connector of the application:
 * `AwsClientConnection.forRoot({ settings: { region, endpoint } })`; connectors declare
 * `uses: { aws: AwsClientConnection.dependency(true) }` and fall back to their own settings.
 */
export const AwsClientConnection = defineSharedConnection<AwsClientConfig, AwsClientSettings>({
  name: 'AwsClient',
  settingsClass: AwsClientSettings,
  create: (settings) => toAwsClientConfig(settings),
});
