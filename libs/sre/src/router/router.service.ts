import type { ConnectorContext } from '../core/backend';
import { SreBackendError, SreInvalidInputError } from '../core/errors';
import { SreService } from '../core/service';
import type { RouteHandler, RouteMethod, RouterBackend } from './router.backend';

export type { RouteHandler, RouteMethod, RouterBackend } from './router.backend';
export { ROUTE_METHODS, ROUTER_OPERATIONS } from './router.backend';

const PATH = /^\/[^\s?#]*$/;

/**
 * Where SRE features that serve HTTP (SmythFS temporary and resource URLs) mount their routes: what
 * you inject. Not access controlled: the handlers registered here do their own checks. Registration
 * is chainable and synchronous, like the original; paths and handlers are checked here, once for
 * every connector, and a backend failure comes back as an `SreBackendError` naming the connector.
 */
export class RouterService extends SreService<RouterBackend> {
  constructor(backend: RouterBackend, context?: ConnectorContext, _deps: object = {}) {
    super(backend, context);
  }

  /** The absolute URL the routes are served under, without a trailing slash. */
  get baseUrl(): string {
    let url: unknown;
    try {
      url = this.backend.baseUrl();
    } catch (error) {
      throw this.wrap(error, 'reading the base URL');
    }
    if (typeof url !== 'string' || !URL.canParse(url))
      throw new SreBackendError(`${this.label()}: the connector's base URL is not an absolute URL`, this.source());
    return url.replace(/\/+$/, '');
  }

  get(path: string, ...handlers: RouteHandler[]): this {
    return this.route('get', path, handlers);
  }

  post(path: string, ...handlers: RouteHandler[]): this {
    return this.route('post', path, handlers);
  }

  put(path: string, ...handlers: RouteHandler[]): this {
    return this.route('put', path, handlers);
  }

  delete(path: string, ...handlers: RouteHandler[]): this {
    return this.route('delete', path, handlers);
  }

  /** Middleware under a path. */
  use(path: string, ...handlers: RouteHandler[]): this {
    this.checkPath(path);
    const checked = this.checkHandlers(handlers);
    this.register('adding middleware', () => this.backend.addMiddleware(path, checked));
    return this;
  }

  /** Middleware for every path. */
  useFn(...handlers: RouteHandler[]): this {
    const checked = this.checkHandlers(handlers);
    this.register('adding middleware', () => this.backend.addMiddleware(undefined, checked));
    return this;
  }

  private route(method: RouteMethod, path: string, handlers: RouteHandler[]): this {
    this.checkPath(path);
    const checked = this.checkHandlers(handlers);
    this.register(`adding a ${method.toUpperCase()} route`, () => this.backend.addRoute(method, path, checked));
    return this;
  }

  /**
   * A backend call that must stay synchronous (the chain returns `this`), so unlike `call` it does
   * not wait for the connection: routes are mounted while the application boots. Refused once the
   * service is shutting down.
   */
  private register<T>(doing: string, operation: () => T): T {
    if (this.state === 'draining' || this.state === 'closed') throw this.unavailable('is shutting down');
    try {
      return operation();
    } catch (error) {
      throw this.wrap(error, doing);
    }
  }

  private checkPath(path: string): void {
    if (typeof path !== 'string' || !PATH.test(path)) {
      throw new SreInvalidInputError(
        "a route path must start with '/' and hold no whitespace, '?' or '#'",
        this.source(),
      );
    }
  }

  private checkHandlers(handlers: RouteHandler[]): RouteHandler[] {
    if (handlers.length === 0 || handlers.some((handler) => typeof handler !== 'function')) {
      throw new SreInvalidInputError('a route needs at least one handler function', this.source());
    }
    return handlers;
  }
}
