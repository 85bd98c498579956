import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { SreConfigError } from './errors';
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
  /** `Storage:default` → the module that provides it (`SreModule.forRoot()`). */
  private readonly claims = new Map<string, string>();
  private closed?: Promise<void>;
  closeTimeoutMs = DEFAULT_CLOSE_TIMEOUT_MS;

  /**
   * Records that `origin` provides these instances of a subsystem (`default` is the service class).
   * A second module providing one of them (SreModule imported twice, or SreModule and StorageModule)
   * fails the boot: Nest would inject one of the two and leave the other connected, unseen.
   */
  claim(subsystem: string, instances: readonly string[], origin: string, serviceName = `${subsystem}Service`): void {
    for (const instance of instances) {
      const key = `${subsystem}:${instance}`;
      const first = this.claims.get(key);
      if (first !== undefined) {
        const what =
          instance === 'default'
            ? `the default ${subsystem} instance (${serviceName})`
            : `the ${subsystem} instance '${instance}'`;
        const bySreModule = [first, origin].filter((name) => name.startsWith('SreModule.')).length;
        const fix =
          bySreModule === 2
            ? 'import SreModule once: its config holds every subsystem'
            : bySreModule === 1
              ? `SreModule provides every subsystem: put this ${subsystem} entry in its config, or give the other instance a name`
              : 'configure it once, or give one of them a name';
        throw new SreConfigError([
          `${subsystem}: ${what} is provided twice, by ${first} and by ${origin}; the application would inject one and leave the other running (${fix})`,
        ]);
      }
    }
    for (const instance of instances) this.claims.set(`${subsystem}:${instance}`, origin);
  }

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
