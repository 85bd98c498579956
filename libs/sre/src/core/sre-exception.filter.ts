/* eslint-disable @typescript-eslint/no-require-imports -- Nest's transport packages are optional: loaded only in their own contexts */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  SreAccessDeniedError,
  SreAuthError,
  SreError,
  SreInvalidInputError,
  SreNotFoundError,
  SreRateLimitError,
  SreUnavailableError,
} from './errors';

const STATUS: Array<[new (...args: any[]) => SreError, number]> = [
  [SreInvalidInputError, HttpStatus.BAD_REQUEST],
  [SreAccessDeniedError, HttpStatus.FORBIDDEN],
  [SreNotFoundError, HttpStatus.NOT_FOUND],
  [SreUnavailableError, HttpStatus.SERVICE_UNAVAILABLE],
  [SreRateLimitError, HttpStatus.TOO_MANY_REQUESTS],
  [SreAuthError, HttpStatus.UNAUTHORIZED],
];

/** Nest's `error` field: the reason phrase of the status. */
const REASON: Readonly<Record<number, string>> = {
  [HttpStatus.BAD_REQUEST]: 'Bad Request',
  [HttpStatus.UNAUTHORIZED]: 'Unauthorized',
  [HttpStatus.TOO_MANY_REQUESTS]: 'Too Many Requests',
  [HttpStatus.FORBIDDEN]: 'Forbidden',
  [HttpStatus.NOT_FOUND]: 'Not Found',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'Service Unavailable',
  [HttpStatus.INTERNAL_SERVER_ERROR]: 'Internal Server Error',
};

/**
 * The HTTP status for an SRE error: 400 bad input, 401 no or refused provider credentials, 403
 * denied, 404 missing, 429 rate limited, 503 unavailable, else 500.
 */
export function httpStatusOf(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  for (const [type, status] of STATUS) if (error instanceof type) return status;
  return HttpStatus.INTERNAL_SERVER_ERROR;
}

/** The default exception filter Nest uses in a transport's context, when that transport is installed. */
function nestDefaultFilter(type: string): ExceptionFilter | undefined {
  try {
    if (type === 'rpc') return new (require('@nestjs/microservices').BaseRpcExceptionFilter)();
    if (type === 'ws') return new (require('@nestjs/websockets').BaseWsExceptionFilter)();
  } catch {
    // not installed: this context cannot be that transport's
  }
  return undefined;
}

/**
 * Maps the library's typed errors to HTTP answers in Nest's shape (`{ statusCode, message, error }`)
 * on any platform (Express or Fastify): 400 `SreInvalidInputError`, 401 `SreAuthError`, 403
 * `SreAccessDeniedError`, 404 `SreNotFoundError`, 429 `SreRateLimitError` (with `Retry-After` when
 * the provider said how long), 503 `SreUnavailableError`, 500 for the rest (`SreBackendError`,
 * `SreConfigError`) with a generic message, the detail going to the log only.
 *
 * `SreModule` registers it as a global filter (`APP_FILTER`) unless given `exceptionFilter: false`.
 * It catches only `SreError`s (Nest handles everything else as usual) and answers only in HTTP
 * contexts: in a microservice, gateway or GraphQL resolver the error goes on as Nest would send it.
 */
@Catch(SreError)
export class SreExceptionFilter implements ExceptionFilter<SreError> {
  private readonly logger = new Logger('SreExceptionFilter');

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: SreError, host: ArgumentsHost): unknown {
    const type = host.getType<string>();
    if (type !== 'http') {
      const fallback = nestDefaultFilter(type);
      if (fallback) return fallback.catch(error, host);
      throw error;
    }
    const status = httpStatusOf(error);
    let message: string;
    if (status < 500 || status === HttpStatus.SERVICE_UNAVAILABLE) {
      // the library's own sentences: they name keys and subsystems, never values or secrets
      message = error.message;
    } else {
      // a backend's text may hold paths, hosts or credentials: logged, never answered
      this.logger.error(error.stack ?? error.message);
      message = 'Internal server error';
    }
    const body = { statusCode: status, message, error: REASON[status] ?? REASON[HttpStatus.INTERNAL_SERVER_ERROR] };
    const response = host.switchToHttp().getResponse<{ headersSent?: boolean; sent?: boolean; destroy?: () => void }>();
    // a stream that fails after the headers went out cannot change its status: cut the connection
    if (response.headersSent || response.sent) {
      response.destroy?.();
      return undefined;
    }
    if (error instanceof SreRateLimitError && error.retryAfterMs !== undefined)
      this.adapterHost.httpAdapter.setHeader(response, 'Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
    this.adapterHost.httpAdapter.reply(response, body, status);
    return undefined;
  }
}
