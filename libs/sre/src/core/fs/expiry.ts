import type { Logger } from '@nestjs/common';
import { codeOf } from './fs-util';

/** True when `expiresAt` (epoch milliseconds; `undefined`: never) is not in the future. */
export function isExpired(expiresAt: number | undefined, now = Date.now()): boolean {
  return expiresAt !== undefined && expiresAt <= now;
}

/**
 * Runs a cleanup pass on an interval: the timer never keeps the process alive, a pass never
 * overlaps another (a manual `run()` during a timed one shares it), a failing pass is logged
 * and the next one runs, and `stop()` waits for the pass in progress, which should check
 * `stopping` between items.
 */
export class Sweeper<R> {
  private timer?: NodeJS.Timeout;
  private running?: Promise<R>;
  private stopped = false;

  constructor(
    private readonly pass: () => Promise<R>,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly what = 'sweep',
  ) {}

  get stopping(): boolean {
    return this.stopped;
  }

  /** Starts the timer (`intervalMs` 0: no timer; `run()` still works). */
  start(intervalMs: number): void {
    this.stopped = false;
    clearInterval(this.timer);
    this.timer = undefined;
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.run().catch((error: unknown) => this.logger.warn(`${this.what} failed (${codeOf(error)})`));
    }, intervalMs);
    this.timer.unref();
  }

  run(): Promise<R> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
