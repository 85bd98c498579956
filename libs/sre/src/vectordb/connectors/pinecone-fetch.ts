/** How the connector's requests to Pinecone are retried. */
export interface PineconeRetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** First pause; doubles each attempt (full jitter), never beyond `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Per attempt; an attempt that takes longer is aborted (and not retried: the write may have landed). */
  timeoutMs: number;
}

type Fetch = typeof globalThis.fetch;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `retry-after` in seconds or as an HTTP date, in milliseconds. */
function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * A `fetch` for the Pinecone SDK that retries 429 and 5xx answers with backoff, honouring
 * `retry-after`. The SDK's own retry covers 5xx only (a rate limit surfaces at once as an unmapped
 * error), so the SDK runs with `maxRetries: 0` over this. Request bodies are JSON strings and can
 * be sent again; the last answer is handed back as it is, and the SDK maps it to its error.
 */
export function retryingFetch(
  policy: PineconeRetryPolicy,
  onRetry: (status: number, attempt: number, delayMs: number) => void,
  base: Fetch = globalThis.fetch,
): Fetch {
  return async (input, init) => {
    for (let attempt = 1; ; attempt++) {
      const response = await base(input, {
        ...init,
        signal: init?.signal ?? AbortSignal.timeout(policy.timeoutMs),
      });
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable || attempt > policy.retries) return response;
      const backoff = Math.random() * Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const delay = Math.min(policy.maxDelayMs, retryAfterMs(response) ?? backoff);
      // the body is dropped unread: free the connection before waiting
      await response.body?.cancel().catch(() => undefined);
      onRetry(response.status, attempt, delay);
      await sleep(delay);
    }
  };
}
