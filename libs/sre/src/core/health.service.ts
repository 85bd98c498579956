import { Injectable } from '@nestjs/common';
import { SreLifecycleHost } from './lifecycle';
import { withTimeout } from './timeout';

export interface SreConnectorHealth {
  subsystem: string;
  instance: string;
  connector: string;
  status: 'up' | 'down';
  /** Why it is down (never a secret: connectors scrub their messages). */
  error?: string;
  latencyMs: number;
}

/**
 * Pings every connector the application created, in parallel, each within a time box. Never
 * throws: a failing backend is reported as `down` with its reason.
 */
@Injectable()
export class SreHealthService {
  constructor(private readonly host: SreLifecycleHost) {}

  async check(timeoutMs = 2_000): Promise<SreConnectorHealth[]> {
    return Promise.all(
      this.host.list().map(async (entry) => {
        const started = performance.now();
        const result: SreConnectorHealth = {
          subsystem: entry.subsystem,
          instance: entry.instance,
          connector: entry.connector,
          status: 'up',
          latencyMs: 0,
        };
        try {
          await withTimeout(entry.ref.ping(), timeoutMs, `no answer within ${timeoutMs} ms`);
        } catch (error) {
          result.status = 'down';
          result.error = error instanceof Error ? error.message : String(error);
        } finally {
          result.latencyMs = Math.round((performance.now() - started) * 100) / 100;
        }
        return result;
      }),
    );
  }
}
