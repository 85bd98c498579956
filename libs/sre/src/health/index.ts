export { SreHealthIndicator } from './sre-health.indicator';
export { SreHealthModule } from './sre-health.module';
