import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SreHealthIndicator } from './sre-health.indicator';

/**
 * `import { SreHealthModule, SreHealthIndicator } from 'nestjs-sre/health'` — needs the optional
 * peer `@nestjs/terminus`; the main entry point never loads it.
 */
@Module({ imports: [TerminusModule], providers: [SreHealthIndicator], exports: [SreHealthIndicator, TerminusModule] })
export class SreHealthModule {}
