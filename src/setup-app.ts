import { INestApplication } from '@nestjs/common';
import { noSniff } from './http-safety';

/**
 * What main.ts and the e2e tests both apply to the application. The library's errors need nothing
 * here: SreModule registers SreExceptionFilter itself.
 */
export function setupApp<T extends INestApplication>(app: T): T {
  app.use(noSniff);
  return app;
}
