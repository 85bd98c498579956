import { Logger } from '@nestjs/common';
import { SreAuthError, SreError, SreRateLimitError, SreUnavailableError, type SreErrorSource } from '../../core/errors';
import { retryAfterMsOf, statusOf } from '../../llm/llm-errors';

export interface BatchPolicy {
  /** Texts per request. */
  batchSize: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Attempts after the first one, per request. */
  maxRetries: number;
}

/** Backoff when the provider advises no delay: doubling from here, with full jitter, up to the cap. */
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 8_000;
/** A provider asking for a longer pause than this is answered with the error, not a stalled request. */
const MAX_ADVISED_PAUSE_MS = 60_000;

const logger = new Logger('Embeddings');

function isRetryable(error: unknown): boolean {
  if (error instanceof SreError) return error instanceof SreRateLimitError;
  const status = statusOf(error);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  // no HTTP status: the connection failed or timed out (the SDKs' connection errors carry none)
  const name = (error as Error)?.name ?? '';
  return /connection|timeout|abort|fetch/i.test(`${name} ${(error as Error)?.message ?? ''}`);
}

/** The pause a provider asked for: a `retry-after` header (OpenAI) or RetryInfo in the body (Google). */
function advisedPauseMs(error: unknown): number | undefined {
  const fromHeaders = retryAfterMsOf((error as { headers?: unknown })?.headers);
  if (fromHeaders !== undefined) return fromHeaders;
  const message = typeof (error as Error)?.message === 'string' ? (error as Error).message : '';
  const delay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message)?.[1];
  return delay === undefined ? undefined : Number(delay) * 1000;
}

/**
 * A provider failure as a typed error naming the provider (never the key): 429 is a rate limit,
 * 401/403 (and Google's 400 API_KEY_INVALID) a refused key, anything else "unavailable" with the
 * provider's message; the original is kept as `cause`.
 */
export function embeddingError(error: unknown, what: string, source: SreErrorSource, vaultKey?: string): SreError {
  if (error instanceof SreError) return error;
  const status = statusOf(error);
  const message = typeof (error as Error)?.message === 'string' ? (error as Error).message : String(error);
  if (status === 429)
    return new SreRateLimitError(`${what}: rate limited: ${message}`, source, advisedPauseMs(error), { cause: error });
  if (status === 401 || status === 403 || (status === 400 && message.includes('API_KEY_INVALID')))
    return new SreAuthError(`${what}: the provider refused the API key (HTTP ${status})`, source, vaultKey, {
      cause: error,
    });
  return new SreUnavailableError(`${what}${status ? `: HTTP ${status}` : ''}: ${message}`, source, { cause: error });
}

async function withRetries<T>(attempt: () => Promise<T>, retries: number, what: string): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await attempt();
    } catch (error) {
      if (failures >= retries || !isRetryable(error)) throw error;
      const advised = advisedPauseMs(error);
      if (advised !== undefined && advised > MAX_ADVISED_PAUSE_MS) throw error;
      const pause = advised ?? Math.random() * Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** failures);
      logger.warn(`${what} failed (attempt ${failures + 1} of ${retries + 1}), again in ${Math.round(pause)} ms`);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * Embeds `texts` in batches of `batchSize`, at most `concurrency` requests at once (never all at
 * once, W39), each retried on rate limits, 5xx and broken connections; the vectors come back in
 * the order of the texts. The first batch that fails for good stops the others from starting
 * and its error is thrown, typed by `embeddingError`. Every vector is checked against `dimensions`.
 */
export async function embedInBatches(
  texts: string[],
  policy: BatchPolicy,
  embedBatch: (batch: string[]) => Promise<number[][]>,
  check: { what: string; dimensions: number; source: SreErrorSource; vaultKey?: string },
): Promise<number[][]> {
  const batches: string[][] = [];
  for (let i = 0; i < texts.length; i += policy.batchSize) batches.push(texts.slice(i, i + policy.batchSize));
  const results: number[][][] = new Array(batches.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < batches.length) {
      const index = next++;
      try {
        results[index] = await withRetries(() => embedBatch(batches[index]), policy.maxRetries, check.what);
      } catch (error) {
        failed = true;
        throw embeddingError(error, check.what, check.source, check.vaultKey);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(policy.concurrency, batches.length) }, worker));
  const vectors = results.flat();
  if (
    vectors.length !== texts.length ||
    vectors.some((vector) => vector.length !== check.dimensions || !vector.every(Number.isFinite))
  )
    throw new SreUnavailableError(
      `${check.what} answered ${vectors.length} vectors of ${vectors[0]?.length} dimensions for ${texts.length} texts of ${check.dimensions}`,
      check.source,
    );
  return vectors;
}
