import { Global, Module } from '@nestjs/common';
import { SreHealthService } from './health.service';
import { SreLifecycleHost } from './lifecycle';

/** Imported by every subsystem module: one lifecycle host (and health view) per Nest application. */
@Global()
@Module({ providers: [SreLifecycleHost, SreHealthService], exports: [SreLifecycleHost, SreHealthService] })
export class SreCoreModule {}
