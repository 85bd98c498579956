import { SreAuthError, SreBackendError, SreError, SreRateLimitError, type SreErrorSource } from '../core/errors';

/** What the official SDKs' HTTP errors have in common (openai, @anthropic-ai/sdk, @google/genai, AWS). */
interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  headers?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status an SDK error carries, if any. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as HttpishError;
  const status = e.status ?? e.statusCode ?? e.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') return (get as (n: string) => string | null).call(headers, name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** `retry-after-ms`, else `retry-after` in seconds or as an HTTP date, in milliseconds. */
export function retryAfterMsOf(headers: unknown, now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (header(headers, 'retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const after = header(headers, 'retry-after');
  if (after === undefined) return undefined;
  const seconds = Number(after);
  if (after.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * An SDK failure as a typed error: 429 gives `SreRateLimitError` with the advertised delay, 401/403
 * `SreAuthError` naming where the key comes from (`keyHint`, never the key), anything else
 * `SreBackendError` with the HTTP status kept on the cause. Messages come from the provider's
 * answer, which never contains the key.
 */
export function providerError(error: unknown, source: SreErrorSource, provider: string, keyHint: string): SreError {
  if (error instanceof SreError) return error;
  const status = statusOf(error);
  const raw = typeof (error as HttpishError)?.message === 'string' ? String((error as HttpishError).message) : '';
  const label = `LLM(${source.connector ?? provider})`;
  if (status === 429)
    return new SreRateLimitError(
      `${label}: ${provider} rate limit: ${raw}`,
      source,
      retryAfterMsOf((error as HttpishError).headers),
      { cause: error },
    );
  if (status === 401 || status === 403)
    return new SreAuthError(
      `${label}: ${provider} refused the API key from ${keyHint} (HTTP ${status})`,
      source,
      keyHint,
      {
        cause: error,
      },
    );
  return new SreBackendError(`${label}: ${provider}${status ? ` answered HTTP ${status}` : ''}: ${raw}`, source, {
    cause: error,
  });
}

/** Worth another attempt: a rate limit, a provider-side 5xx, or a connection that broke. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SreRateLimitError) return true;
  if (error instanceof SreAuthError) return false;
  const status = statusOf(error instanceof SreError ? error.cause : error);
  return status !== undefined && status >= 500;
}

/**
 * The API key of a request, or `SreAuthError` naming where it was looked up (the vault key), so
 * that a missing key is a sentence instead of the provider's 401.
 */
export function requireApiKey(
  request: {
    context: {
      credentials: { apiKey?: unknown };
      keyHint?: string;
      modelEntryName: string;
      modelInfo: { provider?: string; credentials?: unknown; llm?: string };
    };
  },
  source: SreErrorSource,
  provider: string,
): string {
  const key = request.context.credentials.apiKey;
  if (typeof key === 'string' && key !== '') return key;
  const hint = request.context.keyHint ?? 'the vault';
  const entry = request.context.modelInfo;
  const vaultKey = (Array.isArray(entry.credentials) ? entry.credentials : [entry.credentials]).includes('vault')
    ? String(entry.provider ?? entry.llm ?? provider).toLowerCase()
    : undefined;
  throw new SreAuthError(
    `LLM(${source.connector ?? provider}): no API key for model '${request.context.modelEntryName}': looked in ${hint}`,
    source,
    vaultKey,
  );
}
