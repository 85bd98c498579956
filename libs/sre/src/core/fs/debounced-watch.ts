import * as fs from 'node:fs';
import type { Logger } from '@nestjs/common';

export interface DebouncedWatchOptions {
  /** Where warnings go (a watch that fails or stops, a reload that fails). */
  logger: Pick<Logger, 'warn'>;
  /** Quiet time (ms) after the last event before `reload` runs. */
  debounceMs: number;
  /** While events go on, `reload` runs at the latest this long (ms) after the first one; unset: no limit. */
  maxDelayMs?: number;
  /** What is reloaded, for the warning when `reload` fails (`reloading <what> failed: …`; default `the watched data`). */
  what?: string;
}

export interface WatchTargetOptions {
  /** Also watch below a folder (falls back to the folder itself where recursive watching is unavailable). */
  recursive?: boolean;
  /** Which events count, by the changed file's name (`null` when the platform gives none). */
  filter?: (filename: string | null) => boolean;
  /** The end of the warning when the target cannot be watched (default: changes are not picked up). */
  ifUnwatchable?: string;
}

/**
 * Watches files or folders and runs an async `reload` after their events settle: debounced by
 * `debounceMs` (at most `maxDelayMs` after the first event of a burst), one run at a time (an event
 * or `run()` during a run makes one more run after it). A failing reload is logged and swallowed
 * when the watch started it; `run()` hands the failure to its caller. `close()` stops the watchers
 * and the pending timer and waits for a running reload; `watch()` may be called again afterwards.
 */
export class DebouncedWatch {
  private watchers: fs.FSWatcher[] = [];
  private timer?: NodeJS.Timeout;
  private firstEventAt?: number;
  private running?: Promise<void>;
  private again = false;

  constructor(
    private readonly reload: () => Promise<void>,
    private readonly options: DebouncedWatchOptions,
  ) {}

  /** True while at least one target is watched. */
  get watching(): boolean {
    return this.watchers.length > 0;
  }

  /** Starts watching `target`; false (with a warning) when it cannot be watched. */
  watch(target: string, options: WatchTargetOptions = {}): boolean {
    const onEvent = (_event: string, filename: string | Buffer | null) => {
      const name = filename === null ? null : filename.toString();
      if (!options.filter || options.filter(name)) this.schedule();
    };
    let watcher: fs.FSWatcher;
    try {
      try {
        watcher = fs.watch(target, { persistent: false, recursive: options.recursive === true }, onEvent);
      } catch (error) {
        if (!options.recursive) throw error;
        // recursive watching is not available everywhere: watch the top folder only
        watcher = fs.watch(target, { persistent: false }, onEvent);
      }
    } catch (error) {
      this.options.logger.warn(
        `cannot watch ${target} (${codeOf(error)}); ${options.ifUnwatchable ?? 'changes will not be picked up'}`,
      );
      return false;
    }
    watcher.on('error', (error) => this.options.logger.warn(`watching ${target} stopped: ${codeOf(error)}`));
    this.watchers.push(watcher);
    return true;
  }

  /** Runs `reload` now, or once more after the running one; resolves when that run is done. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.reload();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops watching, drops a pending reload and waits for a running one (its failure ignored). */
  async close(): Promise<void> {
    for (const watcher of this.watchers.splice(0)) watcher.close();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstEventAt = undefined;
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    if (!this.watching) return;
    const { debounceMs, maxDelayMs } = this.options;
    const now = Date.now();
    this.firstEventAt ??= now;
    clearTimeout(this.timer);
    const due =
      maxDelayMs === undefined ? debounceMs : Math.min(debounceMs, Math.max(0, this.firstEventAt + maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.firstEventAt = undefined;
      this.run().catch((error: unknown) =>
        this.options.logger.warn(
          `reloading ${this.options.what ?? 'the watched data'} failed: ${(error as Error).message}`,
        ),
      );
    }, due);
    this.timer.unref();
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}
