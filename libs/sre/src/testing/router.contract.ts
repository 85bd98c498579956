import { createConnectorContext } from '../core/backend';
import { SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { ROUTE_METHODS, type RouteHandler, type RouteMethod, type RouterBackend } from '../router/router.backend';
import { RouterService } from '../router/router.service';
import { useFreshBackend } from './contract-harness';

/** What one request through the backend's routes produced. */
export interface RouterDispatchResult {
  statusCode: number;
  body: unknown;
}

export interface RouterBackendSuiteOptions<B extends RouterBackend> {
  /**
   * Runs a request through what the backend registered (MemoryRouter: `backend.dispatch`; an
   * Express router: supertest). Without it the suite checks registration only (NullRouter).
   */
  dispatch?: (backend: B, method: RouteMethod, url: string) => Promise<RouterDispatchResult>;
}

/** A handler answering `body` (Express's `res.send`). */
const reply =
  (body: unknown): RouteHandler =>
  (_request, response: { send(body: unknown): unknown }) => {
    response.send(body);
  };

/** Middleware that records `mark` on the request and passes on. */
const mark =
  (name: string): RouteHandler =>
  (request: { marks?: string[] }, _response, next) => {
    (request.marks ??= []).push(name);
    next();
  };

/** A handler answering the marks the middleware left and the `:id` param. */
const echo: RouteHandler = (request: { marks?: string[]; params?: Record<string, string> }, response) => {
  (response as { send(body: unknown): unknown }).send({ marks: request.marks ?? [], id: request.params?.id });
};

/**
 * The contract of a Router backend, then the Router policy over it (through the real
 * `RouterService`): `describeRouterBackend('MyRouter', () => new MyRouterConnector(settings, ctx),
 * { dispatch })`. Each test gets a fresh backend and disconnects it after.
 */
export function describeRouterBackend<B extends RouterBackend>(
  label: string,
  makeBackend: () => B | Promise<B>,
  options: RouterBackendSuiteOptions<B> = {},
): void {
  const { dispatch } = options;

  describe(`${label}: Router backend contract`, () => {
    const { backend, track } = useFreshBackend(makeBackend, { connect: false });

    const serve = (wrapped: RouterBackend = backend(), secrets: string[] = []): RouterService =>
      track(
        new RouterService(wrapped, createConnectorContext({ subsystem: 'Router', connector: label, secrets })),
        wrapped,
      );

    /** The backend with every registration recorded on its way through. */
    const recording = () => {
      const calls: Array<[string, ...unknown[]]> = [];
      const wrapped: RouterBackend = {
        baseUrl: () => backend().baseUrl(),
        addRoute: (method, path, handlers) => {
          calls.push(['addRoute', method, path, handlers]);
          backend().addRoute(method, path, handlers);
        },
        addMiddleware: (path, handlers) => {
          calls.push(['addMiddleware', path, handlers]);
          backend().addMiddleware(path, handlers);
        },
      };
      return { calls, wrapped };
    };

    describe('operations', () => {
      it('answers an absolute base URL', () => {
        const url = backend().baseUrl();
        expect(typeof url).toBe('string');
        expect(URL.canParse(url)).toBe(true);
      });

      it('takes routes of every method and middleware synchronously, before and after connect', async () => {
        for (const method of ROUTE_METHODS)
          expect(backend().addRoute(method, `/before/${method}`, [reply(method)])).toBeUndefined();
        expect(backend().addMiddleware(undefined, [mark('all')])).toBeUndefined();
        await backend().connect?.();
        expect(backend().addMiddleware('/after', [mark('after')])).toBeUndefined();
        for (const method of ROUTE_METHODS)
          expect(backend().addRoute(method, `/after/${method}`, [reply(method)])).toBeUndefined();
        if (dispatch) {
          for (const method of ROUTE_METHODS) {
            expect(await dispatch(backend(), method, `/before/${method}`)).toMatchObject({
              statusCode: 200,
              body: method,
            });
            expect(await dispatch(backend(), method, `/after/${method}`)).toMatchObject({
              statusCode: 200,
              body: method,
            });
          }
        }
      });

      it('takes hundreds of routes and many handlers per route', async () => {
        for (let i = 0; i < 500; i++) backend().addRoute('get', `/bulk/${i}`, [reply(`r${i}`)]);
        const chain = Array.from({ length: 50 }, (_, i) => mark(`m${i}`));
        backend().addRoute('get', '/chain', [...chain, echo]);
        if (dispatch) {
          expect(await dispatch(backend(), 'get', '/bulk/0')).toMatchObject({ body: 'r0' });
          expect(await dispatch(backend(), 'get', '/bulk/499')).toMatchObject({ body: 'r499' });
          const result = await dispatch(backend(), 'get', '/chain');
          expect((result.body as { marks: string[] }).marks).toEqual(chain.map((_, i) => `m${i}`));
        }
      });

      if (dispatch) {
        it('routes by method and whole path, with :name params, and answers 404 for the rest', async () => {
          backend().addRoute('get', '/items/:id', [echo]);
          backend().addRoute('post', '/items', [reply('created')]);
          expect(await dispatch(backend(), 'get', '/items/a%20b')).toMatchObject({
            statusCode: 200,
            body: { id: 'a b' },
          });
          expect(await dispatch(backend(), 'post', '/items')).toMatchObject({ statusCode: 200, body: 'created' });
          expect((await dispatch(backend(), 'delete', '/items')).statusCode).toBe(404);
          expect((await dispatch(backend(), 'get', '/items/a/b')).statusCode).toBe(404);
          expect((await dispatch(backend(), 'get', '/nothing')).statusCode).toBe(404);
        });

        it('runs middleware in registration order, under its path prefix only', async () => {
          backend().addMiddleware(undefined, [mark('all')]);
          backend().addMiddleware('/api', [mark('api')]);
          backend().addMiddleware('/other', [mark('other')]);
          backend().addRoute('get', '/api/items/:id', [mark('route'), echo]);
          backend().addRoute('get', '/apix', [echo]);
          expect((await dispatch(backend(), 'get', '/api/items/7')).body).toEqual({
            marks: ['all', 'api', 'route'],
            id: '7',
          });
          expect((await dispatch(backend(), 'get', '/apix')).body).toEqual({ marks: ['all'] });
        });

        it('keeps concurrent requests apart', async () => {
          backend().addRoute('get', '/slow/:id', [
            async (request: { params: Record<string, string> }, response: { send(body: unknown): unknown }) => {
              await new Promise((resolve) => setTimeout(resolve, Number(request.params.id) % 5));
              response.send(request.params.id);
            },
          ]);
          const ids = Array.from({ length: 40 }, (_, i) => String(i));
          const results = await Promise.all(ids.map((id) => dispatch(backend(), 'get', `/slow/${id}`)));
          expect(results.map((result) => result.body)).toEqual(ids);
        });
      }
    });

    describe('Router policy (RouterService over this backend)', () => {
      it('registers routes and middleware in a chain, each reaching the backend once, without connecting', async () => {
        const { calls, wrapped } = recording();
        const router = serve(wrapped);
        const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map(reply);
        expect(router.get('/a', a).post('/a', b).put('/a', c).delete('/a', d).use('/a', e).useFn(a, b)).toBe(router);
        expect(calls).toEqual([
          ['addRoute', 'get', '/a', [a]],
          ['addRoute', 'post', '/a', [b]],
          ['addRoute', 'put', '/a', [c]],
          ['addRoute', 'delete', '/a', [d]],
          ['addMiddleware', '/a', [e]],
          ['addMiddleware', undefined, [a, b]],
        ]);
        expect(router.state).toBe('created');
        if (dispatch) {
          // the route came before the middleware of the same path; below it only the middleware matches
          expect(await dispatch(backend(), 'put', '/a')).toMatchObject({ statusCode: 200, body: 'c' });
          expect(await dispatch(backend(), 'get', '/a/below')).toMatchObject({ statusCode: 200, body: 'e' });
        }
      });

      it('checks paths and handlers before the backend sees them', () => {
        const { calls, wrapped } = recording();
        const router = serve(wrapped);
        const ok = reply('x');
        for (const path of ['no-slash', '', '/a b', '/a?x=1', '/a#h', '/tab\there', 42, undefined]) {
          expect(() => router.get(path as never, ok)).toThrow(SreInvalidInputError);
          expect(() => router.use(path as never, ok)).toThrow(SreInvalidInputError);
        }
        expect(() => router.delete('/a')).toThrow('a route needs at least one handler function');
        expect(() => router.post('/a', ok, 'nope' as never)).toThrow(SreInvalidInputError);
        expect(() => router.use('/a', 'nope' as never)).toThrow(SreInvalidInputError);
        expect(() => router.useFn()).toThrow(SreInvalidInputError);
        expect(() => router.useFn(null as never)).toThrow(SreInvalidInputError);
        expect(calls).toEqual([]);
        expect(() => router.get('/', ok)).not.toThrow();
        expect(calls).toHaveLength(1);
      });

      it('answers the base URL without a trailing slash, and refuses one that is no URL', () => {
        const url = serve().baseUrl;
        expect(URL.canParse(url)).toBe(true);
        expect(url.endsWith('/')).toBe(false);
        const slashed = serve({ ...recording().wrapped, baseUrl: () => 'https://files.example.com/sre/' });
        expect(slashed.baseUrl).toBe('https://files.example.com/sre');
        for (const bad of ['not a url', '', 42]) {
          const broken = serve({ ...recording().wrapped, baseUrl: () => bad as never });
          expect(() => broken.baseUrl).toThrow(SreBackendError);
        }
      });

      it('wraps backend failures, naming the connector with secrets scrubbed', () => {
        const failing: RouterBackend = {
          baseUrl: () => {
            throw new Error('no url for s3cr3t-value');
          },
          addRoute: () => {
            throw new Error('router s3cr3t-value is sealed');
          },
          addMiddleware: () => {
            throw new Error('no middleware');
          },
        };
        const router = serve(failing, ['s3cr3t-value']);
        expect(() => router.get('/a', reply('a'))).toThrow(SreBackendError);
        expect(() => router.get('/a', reply('a'))).toThrow(
          `Router(${label}): adding a GET route: router *** is sealed`,
        );
        expect(() => router.useFn(reply('a'))).toThrow(`Router(${label}): adding middleware: no middleware`);
        expect(() => router.baseUrl).toThrow(`Router(${label}): reading the base URL: no url for ***`);
      });

      it('refuses registrations once closed', async () => {
        const { calls, wrapped } = recording();
        const router = serve(wrapped);
        router.get('/a', reply('a'));
        await router.disconnect();
        expect(() => router.get('/b', reply('b'))).toThrow(SreUnavailableError);
        expect(() => router.useFn(reply('b'))).toThrow(SreUnavailableError);
        expect(calls).toHaveLength(1);
      });
    });
  });
}
