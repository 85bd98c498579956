import { INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { SreExceptionFilter } from 'nestjs-sre';

/** What main.ts and the e2e tests both apply to the application. */
export function setupApp<T extends INestApplication>(app: T): T {
  app.useGlobalFilters(new SreExceptionFilter(app.get(HttpAdapterHost)));
  return app;
}
