import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  SreAccessDeniedError,
  SreConfigError,
  SreError,
  SreInvalidInputError,
  SreNotFoundError,
  SreUnavailableError,
} from './errors';

const STATUS: Array<[new (...args: any[]) => SreError, number]> = [
  [SreInvalidInputError, HttpStatus.BAD_REQUEST],
  [SreAccessDeniedError, HttpStatus.FORBIDDEN],
  [SreNotFoundError, HttpStatus.NOT_FOUND],
  [SreUnavailableError, HttpStatus.SERVICE_UNAVAILABLE],
  [SreConfigError, HttpStatus.INTERNAL_SERVER_ERROR],
];

/** The HTTP status for an SRE error: 400 bad input, 403 denied, 404 missing, 503 unavailable, else 500. */
export function httpStatusOf(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  for (const [type, status] of STATUS) if (error instanceof type) return status;
  return HttpStatus.INTERNAL_SERVER_ERROR;
}

/**
 * Maps the library's typed errors to HTTP answers on any platform (Express or Fastify):
 * `app.useGlobalFilters(new SreExceptionFilter(app.get(HttpAdapterHost)))`. Backend failures become
 * a 500 whose body does not repeat the internal message.
 */
@Catch()
export class SreExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('SreExceptionFilter');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const ctx = host.switchToHttp();
    const status = httpStatusOf(error);
    let body: unknown;
    if (error instanceof HttpException) {
      body = error.getResponse();
    } else if (status < 500 && error instanceof Error) {
      body = { statusCode: status, error: error.name, message: error.message };
    } else {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      body = {
        statusCode: status,
        error: status === 503 ? 'Service Unavailable' : 'Internal Server Error',
        message: status === 503 && error instanceof Error ? error.message : 'internal error',
      };
    }
    const response = ctx.getResponse<{ headersSent?: boolean; sent?: boolean; destroy?: () => void }>();
    // a stream that fails after the headers went out cannot change its status: cut the connection
    if (response.headersSent || response.sent) {
      response.destroy?.();
      return;
    }
    httpAdapter.reply(response, body, status);
  }
}
