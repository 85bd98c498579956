import { SreInvalidInputError } from '../core/errors';
import { describeSubsystemModule } from '../testing/subsystem-module.testkit';
import { InjectRouter } from './router.decorators';
import { RouterModule } from './router.module';
import { ROUTER_DEFINITION } from './router.registry';
import { RouteHandler, RouteMethod, RouterService } from './router.service';

/** Keeps the registrations and dispatches a request to the first matching route. */
class TableRouter extends RouterService {
  readonly routes: { method: RouteMethod | '*'; path?: string; handlers: RouteHandler[] }[] = [];

  get baseUrl(): string {
    return 'http://table.local';
  }

  protected addRoute(method: RouteMethod, path: string, handlers: RouteHandler[]) {
    this.routes.push({ method, path, handlers });
  }

  protected addMiddleware(path: string | undefined, handlers: RouteHandler[]) {
    this.routes.push({ method: '*', path, handlers });
  }

  dispatch(method: RouteMethod, path: string): unknown {
    const route = this.routes.find(
      (r) => (r.method === method || r.method === '*') && (r.path === undefined || r.path === path),
    );
    const response: { body?: unknown } = {};
    route?.handlers[0]({ method, path }, response, () => undefined);
    return response.body;
  }
}

describe('RouterModule', () => {
  describeSubsystemModule(ROUTER_DEFINITION, RouterModule, InjectRouter, {
    connector: TableRouter,
    planned: ['ExpressRouter', 'NullRouter'],
    unknownName: 'Koa',
  });

  it('registers routes in a chain and checks paths and handlers', () => {
    const router = new TableRouter();
    const reply =
      (body: string): RouteHandler =>
      (_req, res: { body?: unknown }) => {
        res.body = body;
      };
    expect(router.get('/a', reply('got a')).post('/a', reply('posted a')).useFn(reply('fallback'))).toBe(router);
    expect(router.dispatch('get', '/a')).toBe('got a');
    expect(router.dispatch('post', '/a')).toBe('posted a');
    expect(router.dispatch('delete', '/zzz')).toBe('fallback');
    expect(() => router.get('no-slash', reply('x'))).toThrow(SreInvalidInputError);
    expect(() => router.put('/a b', reply('x'))).toThrow(SreInvalidInputError);
    expect(() => router.delete('/a')).toThrow('a route needs at least one handler function');
    expect(() => router.use('/a', 'nope' as never)).toThrow(SreInvalidInputError);
    expect(router.routes).toHaveLength(3);
  });
});
