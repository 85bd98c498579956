import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { SreHealthIndicator } from 'nestjs-sre/health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sre: SreHealthIndicator,
  ) {}

  /** 200 with every connector `up`, 503 naming the ones that are down. */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.sre.isHealthy()]);
  }
}
