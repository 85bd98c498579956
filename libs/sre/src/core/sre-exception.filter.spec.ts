import { ArgumentsHost, Controller, Get, INestApplication, Logger, Module, NotFoundException } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  SreAccessDeniedError,
  SreAuthError,
  SreBackendError,
  SreConfigError,
  SreError,
  SreInvalidInputError,
  SreNotFoundError,
  SreRateLimitError,
  SreUnavailableError,
} from './errors';
import { httpStatusOf, SreExceptionFilter } from './sre-exception.filter';

// stands for an installed @nestjs/microservices: the filter hands RPC errors to Nest's own RPC filter
jest.mock(
  '@nestjs/microservices',
  () => ({
    BaseRpcExceptionFilter: class {
      catch(error: unknown) {
        return { handledByNestRpc: error };
      }
    },
  }),
  { virtual: true },
);

const BACKEND_TEXT = 'EACCES: permission denied, open /var/lib/secret-mount/tenant-42';

@Controller()
class ThrowingController {
  @Get('invalid')
  invalid(): never {
    throw new SreInvalidInputError("Storage: key must not contain '..'");
  }

  @Get('denied')
  denied(): never {
    throw new SreAccessDeniedError({ subsystem: 'Storage' });
  }

  @Get('missing')
  missing(): never {
    throw new SreNotFoundError('Storage: no such file');
  }

  @Get('unavailable')
  unavailable(): never {
    throw new SreUnavailableError('VectorDB is not available: not configured');
  }

  @Get('limited')
  limited(): never {
    throw new SreRateLimitError('LLM(OpenAI): rate limited by the provider', {}, 2_500);
  }

  @Get('auth')
  auth(): never {
    throw new SreAuthError("LLM(OpenAI): no API key for team 'acme': set the vault key 'openai'", {}, 'openai');
  }

  @Get('backend')
  backend(): never {
    throw new SreBackendError(`Storage(LocalStorage): read failed: ${BACKEND_TEXT}`);
  }

  @Get('config')
  config(): never {
    throw new SreConfigError(['Storage(LocalStorage).settings.folder: must be a string']);
  }

  @Get('nest')
  nest(): never {
    throw new NotFoundException('no route data');
  }

  @Get('plain')
  plain(): never {
    throw new Error(`plain failure: ${BACKEND_TEXT}`);
  }
}

@Module({ controllers: [ThrowingController], providers: [{ provide: APP_FILTER, useClass: SreExceptionFilter }] })
class FilteredAppModule {}

describe('SreExceptionFilter', () => {
  let app: INestApplication;
  let errorLog: jest.SpyInstance;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FilteredAppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(() => app.close());

  beforeEach(() => {
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it("answers the library's errors with their status in Nest's shape", async () => {
    const server = app.getHttpServer();
    expect((await request(server).get('/invalid').expect(400)).body).toEqual({
      statusCode: 400,
      message: "Storage: key must not contain '..'",
      error: 'Bad Request',
    });
    expect((await request(server).get('/denied').expect(403)).body).toEqual({
      statusCode: 403,
      message: 'Access Denied',
      error: 'Forbidden',
    });
    expect((await request(server).get('/missing').expect(404)).body).toEqual({
      statusCode: 404,
      message: 'Storage: no such file',
      error: 'Not Found',
    });
    expect((await request(server).get('/unavailable').expect(503)).body).toEqual({
      statusCode: 503,
      message: 'VectorDB is not available: not configured',
      error: 'Service Unavailable',
    });
    const limited = await request(server).get('/limited').expect(429);
    expect([limited.headers['retry-after'], limited.body.error]).toEqual(['3', 'Too Many Requests']);
    expect((await request(server).get('/auth').expect(401)).body).toEqual({
      statusCode: 401,
      message: "LLM(OpenAI): no API key for team 'acme': set the vault key 'openai'",
      error: 'Unauthorized',
    });
  });

  it("answers a backend or config failure with a generic 500, never the backend's text, and logs it", async () => {
    const backend = await request(app.getHttpServer()).get('/backend').expect(500);
    expect(backend.body).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
    expect(backend.text).not.toContain('secret-mount');
    expect(errorLog).toHaveBeenCalledWith(expect.stringContaining(BACKEND_TEXT));
    const config = await request(app.getHttpServer()).get('/config').expect(500);
    expect(config.body).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
  });

  it('catches only SreError: HttpExceptions and other errors stay with Nest', async () => {
    const caught = jest.spyOn(SreExceptionFilter.prototype, 'catch');
    const nest = await request(app.getHttpServer()).get('/nest').expect(404);
    expect(nest.body).toEqual({ statusCode: 404, message: 'no route data', error: 'Not Found' });
    const plain = await request(app.getHttpServer()).get('/plain').expect(500);
    expect(plain.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    expect(caught).not.toHaveBeenCalled();
  });

  it('cuts the connection when the headers are already sent', () => {
    const filter = new SreExceptionFilter(new HttpAdapterHost());
    const response = { headersSent: true, destroy: jest.fn() };
    const host = {
      getType: () => 'http',
      switchToHttp: () => ({ getResponse: () => response }),
    } as unknown as ArgumentsHost;
    filter.catch(new SreNotFoundError('gone'), host);
    expect(response.destroy).toHaveBeenCalledTimes(1);
  });

  it('leaves non-HTTP contexts to Nest: RPC to its RPC filter, the others rethrown untouched', () => {
    const filter = new SreExceptionFilter(new HttpAdapterHost());
    const hostOf = (type: string) =>
      ({
        getType: () => type,
        switchToHttp: () => {
          throw new Error('not an HTTP context');
        },
      }) as unknown as ArgumentsHost;
    const error = new SreAccessDeniedError({ subsystem: 'Storage' });
    expect(filter.catch(error, hostOf('rpc'))).toEqual({ handledByNestRpc: error });
    expect(() => filter.catch(error, hostOf('graphql'))).toThrow(error);
    // @nestjs/websockets is not installed here: rethrown like any other context
    expect(() => filter.catch(error, hostOf('ws'))).toThrow(error);
  });

  it('httpStatusOf maps every error type', () => {
    expect(
      [
        new SreInvalidInputError('x'),
        new SreAccessDeniedError(),
        new SreNotFoundError('x'),
        new SreUnavailableError('x'),
        new SreRateLimitError('x'),
        new SreAuthError('x'),
        new SreBackendError('x'),
        new SreConfigError(['x']),
        new SreError('x'),
        new NotFoundException(),
      ].map(httpStatusOf),
    ).toEqual([400, 403, 404, 503, 429, 401, 500, 500, 500, 404]);
  });
});
