import { SreConnector } from '../core/connector';
import { SreInvalidInputError } from '../core/errors';

/** A request handler in the Express/Connect shape (`(req, res, next)`), framework types left open. */
export type RouteHandler = (request: any, response: any, next: (error?: unknown) => void) => unknown;

export type RouteMethod = 'get' | 'post' | 'put' | 'delete';

const PATH = /^\/[^\s?#]*$/;

/**
 * Where SRE features that serve HTTP (SmythFS temporary and resource URLs) mount their routes: the
 * contract, the injection token, and the base class of every Router connector. Not access
 * controlled: the handlers registered here do their own checks. Registration is chainable, like the
 * original; paths and handlers are checked here, once for every connector. A connector that serves
 * nothing (NullRouter) accepts registrations and ignores them.
 */
export abstract class RouterService extends SreConnector {
  /** The absolute URL the routes are served under (no trailing slash), used to build public links. */
  abstract get baseUrl(): string;

  /** Adds handlers for one method and path. */
  protected abstract addRoute(method: RouteMethod, path: string, handlers: RouteHandler[]): void;
  /** Adds middleware for every method, under `path` when given. */
  protected abstract addMiddleware(path: string | undefined, handlers: RouteHandler[]): void;

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
    this.addMiddleware(path, this.checkHandlers(handlers));
    return this;
  }

  /** Middleware for every path. */
  useFn(...handlers: RouteHandler[]): this {
    this.addMiddleware(undefined, this.checkHandlers(handlers));
    return this;
  }

  private route(method: RouteMethod, path: string, handlers: RouteHandler[]): this {
    this.checkPath(path);
    this.addRoute(method, path, this.checkHandlers(handlers));
    return this;
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
