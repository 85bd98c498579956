import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { SreHealthService } from '../core/health.service';

/**
 * Terminus indicator: one result key per connector (`Storage`, `Cache`, `Storage[archive]`, ...)
 * with its status and connector name. Never throws; Terminus turns any `down` into a 503.
 */
@Injectable()
export class SreHealthIndicator {
  constructor(
    private readonly health: SreHealthService,
    private readonly indicator: HealthIndicatorService,
  ) {}

  async isHealthy(timeoutMs?: number): Promise<HealthIndicatorResult> {
    const report = await this.health.check(timeoutMs);
    const result: HealthIndicatorResult = {};
    for (const entry of report) {
      const key = entry.instance === 'default' ? entry.subsystem : `${entry.subsystem}[${entry.instance}]`;
      const session = this.indicator.check(key);
      const details = { connector: entry.connector, latencyMs: entry.latencyMs };
      Object.assign(
        result,
        entry.status === 'up' ? session.up(details) : session.down({ ...details, message: entry.error ?? 'down' }),
      );
    }
    return result;
  }
}
