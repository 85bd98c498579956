import { IsOptional, IsUrl } from 'class-validator';
import type { RouteHandler, RouteMethod, RouterBackend } from '../../router/router.backend';

export class MemoryRouterSettings {
  /** What `RouterService.baseUrl` answers. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  baseUrl: string = 'http://memory.local';
}

/** One registration, in order: a route (`method`) or middleware (`'*'`, `path` absent for every path). */
export interface MemoryRoute {
  readonly method: RouteMethod | '*';
  readonly path?: string;
  readonly handlers: readonly RouteHandler[];
}

/** The request handlers see: Express's most used fields. */
export interface MemoryRequest {
  method: string;
  url: string;
  path: string;
  /** `:name` segments of the matched path, decoded. */
  params: Record<string, string>;
  query: Record<string, string>;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body?: unknown;
}

/** The response handlers write: Express's most used methods, recorded. */
export class MemoryResponse {
  statusCode = 200;
  readonly headers: Record<string, string> = {};
  body: unknown = undefined;
  finished = false;

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  setHeader(name: string, value: string | number): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }

  getHeader(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  send(body?: unknown): this {
    this.body = body;
    this.finished = true;
    return this;
  }

  json(body: unknown): this {
    this.setHeader('content-type', 'application/json');
    return this.send(body);
  }

  end(body?: unknown): this {
    if (body !== undefined) this.body = body;
    this.finished = true;
    return this;
  }
}

/** What `dispatch` ran into. */
export interface MemoryDispatchResult {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
  /** False when every matching handler called `next()` (or none matched): the status is then 404. */
  handled: boolean;
  /** What a handler threw or passed to `next(error)`; the status is then 500. */
  error?: unknown;
}

function segments(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/** The params of `pattern` matched against `path` (whole path, or a prefix for middleware), or `undefined`. */
function match(pattern: string, path: string, prefix: boolean): Record<string, string> | undefined {
  const want = segments(pattern);
  const got = segments(path);
  if (prefix ? got.length < want.length : got.length !== want.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':') && want[i].length > 1) {
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return undefined;
      }
    } else if (want[i] !== got[i]) return undefined;
  }
  return params;
}

/**
 * A Router backend that keeps the registrations in order and runs requests through them in memory,
 * Express-style, for your tests: `await backend.dispatch('get', '/files/a?x=1')`. Routes match the
 * whole path (`:name` segments become `req.params`), middleware a path prefix on segment boundaries.
 * A handler passes on with `next()` before it returns (or its promise settles); one that returns
 * without calling `next` has handled the request. Error middleware (four parameters) is not supported.
 */
export class MemoryRouterBackend implements RouterBackend {
  static readonly connectorName = 'MemoryRouter';
  static readonly settingsClass = MemoryRouterSettings;

  readonly routes: MemoryRoute[] = [];
  private readonly url: string;

  constructor(settings: Partial<MemoryRouterSettings> = {}) {
    this.url = settings.baseUrl ?? new MemoryRouterSettings().baseUrl;
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  baseUrl(): string {
    return this.url;
  }

  addRoute(method: RouteMethod, path: string, handlers: RouteHandler[]): void {
    this.routes.push({ method, path, handlers: [...handlers] });
  }

  addMiddleware(path: string | undefined, handlers: RouteHandler[]): void {
    this.routes.push(
      path === undefined ? { method: '*', handlers: [...handlers] } : { method: '*', path, handlers: [...handlers] },
    );
  }

  /** Runs one request through the matching registrations, in the order they were made. */
  async dispatch(
    method: RouteMethod,
    url: string,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<MemoryDispatchResult> {
    const parsed = new URL(url, 'http://memory.local');
    const request: MemoryRequest = {
      method: method.toUpperCase(),
      url,
      path: parsed.pathname,
      params: {},
      query: Object.fromEntries(parsed.searchParams),
      headers: Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      body: init.body,
    };
    const response = new MemoryResponse();
    const chain = this.routes.flatMap((route) => {
      const params =
        route.method === '*'
          ? route.path === undefined
            ? {}
            : match(route.path, request.path, true)
          : route.method === method
            ? match(route.path!, request.path, false)
            : undefined;
      return params ? route.handlers.map((handler) => ({ handler, params })) : [];
    });
    let handled = false;
    let error: unknown;
    for (const { handler, params } of chain) {
      if (response.finished) break;
      request.params = params;
      let passed = false;
      let passedError: unknown;
      try {
        await handler(request, response, (reason?: unknown) => {
          passed = true;
          passedError = reason;
        });
      } catch (thrown) {
        error = thrown ?? new Error('a handler threw');
        break;
      }
      if (passedError !== undefined) {
        error = passedError;
        break;
      }
      if (!passed) {
        handled = true;
        break;
      }
    }
    if (error !== undefined)
      return { statusCode: 500, headers: response.headers, body: response.body, handled: true, error };
    if (response.finished) handled = true;
    return {
      statusCode: handled ? response.statusCode : 404,
      headers: response.headers,
      body: response.body,
      handled,
    };
  }
}
