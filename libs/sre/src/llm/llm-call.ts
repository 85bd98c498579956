import { SreBackendError, SreRateLimitError, type SreErrorSource } from '../core/errors';
import { isRetryable } from './llm-errors';

/** A wait that ends early (rejecting with the signal's reason) when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The signal one call runs under: the caller's, plus the per-call timeout. `timedOut()` tells a
 * timeout (reported as an error) from the caller's abort (reported as an abort).
 */
export class CallSignal {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private expired = false;
  private readonly forward: () => void;

  constructor(
    readonly callerSignal: AbortSignal | undefined,
    readonly timeoutMs: number | undefined,
  ) {
    this.forward = () => this.controller.abort(callerSignal?.reason);
    if (callerSignal?.aborted) this.forward();
    else callerSignal?.addEventListener('abort', this.forward, { once: true });
    if (timeoutMs !== undefined && timeoutMs > 0)
      this.timer = setTimeout(() => {
        this.expired = true;
        this.controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
      }, timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  timedOut(): boolean {
    return this.expired;
  }

  /** Stops the upstream request (the consumer went away). */
  abort(): void {
    this.controller.abort(new DOMException('This operation was aborted', 'AbortError'));
  }

  /** A caller may reuse one signal for many calls: each call's listener goes with it. */
  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.forward);
  }

  timeoutError(source: SreErrorSource): SreBackendError {
    return new SreBackendError(`LLM(${source.connector}): the call timed out after ${this.timeoutMs} ms`, source);
  }
}

export interface RetryOptions {
  /** Further attempts after the first (default 2). */
  retries: number;
  /** A provider asking to wait longer than this is not waited for: its error is thrown (default 60 s). */
  maxWaitMs: number;
  /** Pause before the first retry when the provider advertises none; doubles each time. */
  baseDelayMs: number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, waitMs: number, attempt: number) => void;
}

export const DEFAULT_LLM_RETRY: Omit<RetryOptions, 'signal' | 'onRetry'> = {
  retries: 2,
  maxWaitMs: 60_000,
  baseDelayMs: 250,
};

/** Bounded retries on 429 and 5xx, waiting what the provider advertised (`retry-after`) when it did. */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= options.retries || !isRetryable(error) || options.signal?.aborted) throw error;
      const advertised = error instanceof SreRateLimitError ? error.retryAfterMs : undefined;
      const wait = advertised ?? options.baseDelayMs * 2 ** n;
      if (wait > options.maxWaitMs) throw error;
      options.onRetry?.(error, wait, n + 1);
      await sleep(wait, options.signal);
    }
  }
}
