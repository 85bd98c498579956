import type { SreBackend } from '../core/backend';

/** A request handler in the Express/Connect shape (`(req, res, next)`), framework types left open. */
export type RouteHandler = (request: any, response: any, next: (error?: unknown) => void) => unknown;

export type RouteMethod = 'get' | 'post' | 'put' | 'delete';

/** Every method a route can be registered for. */
export const ROUTE_METHODS: readonly RouteMethod[] = ['get', 'post', 'put', 'delete'];

/**
 * What a Router connector implements: where the routes end up (an Express router, a table, nowhere).
 * Paths and handlers arrive checked. Registration is synchronous and may happen before `connect`
 * (routes are mounted while the application boots, before its server listens). A connector that
 * serves nothing (NullRouter) accepts registrations and ignores them.
 */
export interface RouterBackend extends SreBackend {
  /** The absolute URL the routes are served under, used to build public links. */
  baseUrl(): string;
  /** Adds handlers for one method and path, after the ones registered before. */
  addRoute(method: RouteMethod, path: string, handlers: RouteHandler[]): void;
  /** Adds middleware for every method, under `path` (and below it) when given, else for every path. */
  addMiddleware(path: string | undefined, handlers: RouteHandler[]): void;
}

/** Every operation of `RouterBackend` (a custom connector lacking one is refused at boot). */
export const ROUTER_OPERATIONS = ['baseUrl', 'addRoute', 'addMiddleware'] as const;
