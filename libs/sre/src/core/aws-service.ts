import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { toAwsClientConfig, AwsClientSettings, type AwsClientConfig } from './aws-client';

/**
 * The settings of an AWS connector that talks to one service (Secrets Manager, Lambda, Cognito):
 * the shared AWS client settings plus the time boxes of its calls.
 */
export class AwsServiceSettings extends AwsClientSettings {
  /** Idle time (ms) of one request without a byte moving (also bounds connecting); retried within `maxAttempts`. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  requestTimeoutMs?: number = 10_000;

  /** Wall-clock limit (ms) of one call, retries included. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  callTimeoutMs?: number = 30_000;
}

/**
 * The SDK client config of a connector: its own AWS settings when it names any (region, endpoint
 * or keys), else the application's shared `AwsClientConnection`, else the default chain. Explicit
 * keys go into `credentials` (W15: the original put them at the top level, where the SDK ignores them).
 */
export function awsServiceConfig(
  settings: AwsServiceSettings,
  shared: AwsClientConfig | undefined,
): AwsClientConfig & { retryMode: 'standard'; requestHandler: { connectionTimeout: number; socketTimeout: number } } {
  const own =
    settings.region ??
    (settings.endpoint || undefined) ??
    settings.accessKeyId ??
    settings.awsAccessKeyId ??
    settings.sessionToken;
  const base = own === undefined && shared ? shared : toAwsClientConfig(settings);
  const idle = settings.requestTimeoutMs ?? 10_000;
  return {
    ...base,
    ...(settings.maxAttempts !== undefined && own !== undefined ? { maxAttempts: settings.maxAttempts } : {}),
    retryMode: 'standard',
    requestHandler: { connectionTimeout: idle, socketTimeout: idle },
  };
}

/** Options of one `client.send`: aborted after `callTimeoutMs`, retries included. */
export function callOptions(settings: AwsServiceSettings): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout(settings.callTimeoutMs ?? 30_000) };
}
