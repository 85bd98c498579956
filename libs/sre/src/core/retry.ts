import { Logger } from '@nestjs/common';
import { backOff } from 'exponential-backoff';
import { SreConfigError } from './errors';

export interface RetryPolicy {
  /** Attempts after the first one (0 = try once). */
  retries: number;
  /** First pause in milliseconds; doubles each time, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_CONNECT_RETRY: RetryPolicy = { retries: 3, initialDelayMs: 200, maxDelayMs: 3_000 };

/** Runs `attempt` with bounded exponential backoff; configuration errors are not retried. */
export function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, logger: Logger, what: string): Promise<T> {
  return backOff(attempt, {
    numOfAttempts: policy.retries + 1,
    startingDelay: policy.initialDelayMs,
    maxDelay: policy.maxDelayMs,
    timeMultiple: 2,
    jitter: 'full',
    retry: (error: unknown, attemptNumber: number) => {
      if (error instanceof SreConfigError) return false;
      const message = error instanceof Error ? error.message : String(error);
      logger.warn(`${what} failed (attempt ${attemptNumber} of ${policy.retries + 1}): ${message}`);
      return true;
    },
  });
}
