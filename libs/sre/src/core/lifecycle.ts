import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { SreLifecycle } from './service';
import { withTimeout } from './timeout';

export interface TrackedConnector {
  readonly subsystem: string;
  readonly instance: string;
  readonly connector: string;
  readonly ref: SreLifecycle;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/**
 * Knows every connector the application created. On shutdown it first stops them taking work, then
 * closes them in reverse creation order, each within a time box; errors are logged, never thrown,
 * and a second shutdown does nothing.
 */
@Injectable()
export class SreLifecycleHost implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('SreLifecycle');
  private readonly tracked: TrackedConnector[] = [];
  private closed?: Promise<void>;
  closeTimeoutMs = DEFAULT_CLOSE_TIMEOUT_MS;

  track(entry: TrackedConnector): void {
    this.tracked.push(entry);
  }

  list(): readonly TrackedConnector[] {
    return this.tracked;
  }

  beforeApplicationShutdown(): void {
    for (const entry of this.tracked) entry.ref.drain();
  }

  onApplicationShutdown(): Promise<void> {
    this.closed ??= this.closeAll();
    return this.closed;
  }

  private async closeAll(): Promise<void> {
    for (const entry of [...this.tracked].reverse()) {
      const label = `${entry.subsystem}(${entry.connector})${entry.instance === 'default' ? '' : `[${entry.instance}]`}`;
      try {
        await withTimeout(
          entry.ref.disconnect(),
          this.closeTimeoutMs,
          `did not close within ${this.closeTimeoutMs} ms`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // a service's own errors already start with its label
        this.logger.error(message.startsWith(label) ? message : `${label}: ${message}`);
      }
    }
  }
}
