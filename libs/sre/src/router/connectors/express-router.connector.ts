import type { Logger } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { Transform } from 'class-transformer';
import { IsOptional, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { Server as TlsServer } from 'node:tls';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type { RouteHandler, RouteMethod, RouterBackend } from '../router.backend';

/** What ExpressRouter mounts on: an Express `Router()` or application (anything with `use` and the route methods). */
export interface ExpressRouterTarget {
  use(...args: unknown[]): unknown;
  get(...args: unknown[]): unknown;
  post(...args: unknown[]): unknown;
  put(...args: unknown[]): unknown;
  delete(...args: unknown[]): unknown;
}

/** The base URL when neither the settings nor the listening server give one. */
export const EXPRESS_ROUTER_DEFAULT_BASE_URL = 'http://localhost';

function isRouterTarget(value: unknown): value is ExpressRouterTarget {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const target = value as Record<string, unknown>;
  return typeof target.use === 'function' && typeof target.get === 'function';
}

@ValidatorConstraint({ name: 'expressRouter' })
class ExpressRouterConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isRouterTarget(value);
  }

  defaultMessage(): string {
    // never the value: it is the user's router
    return 'must be an Express Router or application (an object with use and get functions)';
  }
}

const BASE_PATH = /^\/[^\s?#]*$/;

function isBaseUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (BASE_PATH.test(value)) return true;
  return URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol);
}

@ValidatorConstraint({ name: 'expressRouterBaseUrl' })
class BaseUrlConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isBaseUrl(value);
  }

  defaultMessage(): string {
    return "must be an absolute http(s) URL or a path starting with '/'";
  }
}

export class ExpressRouterSettings {
  /**
   * The Express `Router()` or app the routes are mounted on. Absent: the Nest application's own
   * HTTP server (through `HttpAdapterHost`, Express platform only).
   */
  @IsOptional()
  @Validate(ExpressRouterConstraint)
  // keeps the caller's object itself (class-transformer would copy a plain object)
  @Transform(({ obj }: { obj: { router?: unknown } }) => obj.router, { toClassOnly: true })
  router?: object;

  /**
   * The URL the routes are served under: absolute (`https://files.example.com`), or a path (`/api`,
   * the seed's) taken from the listening app's origin, else `http://localhost`. Absent: that origin.
   */
  @IsOptional()
  @Validate(BaseUrlConstraint)
  baseUrl?: string;
}

/** What ExpressRouter finds in `context.deps`. */
export interface ExpressRouterDeps {
  /** Nest's `HttpAdapterHost`: the app's HTTP server, used when the settings give no `router`. */
  http?: HttpAdapterHost;
}

type Registration = { method: RouteMethod | 'use'; path?: string; handlers: RouteHandler[] };

/**
 * Routes and middleware mounted on an Express router (the seed's ExpressRouter): the one given in the
 * settings, else the Nest application's own Express instance (`HttpAdapterHost`), at registration
 * time. Registrations made before the application's HTTP adapter exists (a testing module compiled
 * before `createNestApplication`) are kept and mounted, in order, as soon as it is set. Register at
 * boot: Express answers 404 for anything mounted after Nest's not-found handler (`app.init()`).
 */
export class ExpressRouterConnector implements RouterBackend {
  static readonly connectorName = 'ExpressRouter';
  static readonly settingsClass = ExpressRouterSettings;

  private readonly logger: Logger;
  private host?: HttpAdapterHost;
  private readonly configuredUrl?: string;
  private target?: ExpressRouterTarget;
  private readonly pending: Registration[] = [];
  private subscription?: { unsubscribe(): void };

  constructor(
    settings: Partial<ExpressRouterSettings> = {},
    context: ConnectorContext<ExpressRouterDeps> = createConnectorContext<ExpressRouterDeps>({
      subsystem: 'Router',
      connector: 'ExpressRouter',
    }),
  ) {
    this.logger = context.logger;
    if (settings.baseUrl !== undefined && !isBaseUrl(settings.baseUrl))
      throw new Error("ExpressRouter: baseUrl must be an absolute http(s) URL or a path starting with '/'");
    this.configuredUrl = settings.baseUrl;
    if (settings.router !== undefined) {
      if (!isRouterTarget(settings.router))
        throw new Error('ExpressRouter: router must be an Express Router or application');
      this.target = settings.router;
      return;
    }
    this.host = context.deps.http;
    // a ReplaySubject: fires now when the adapter is already set (NestFactory.create), later otherwise
    this.subscription = this.host?.init$?.subscribe(() => this.attach());
  }

  async connect(): Promise<void> {
    if (!this.target) this.attach();
  }

  async disconnect(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.pending.length)
      this.logger.warn(`${this.pending.length} registration(s) were never mounted: no Express HTTP server was found`);
  }

  /** The Express router or app the routes are mounted on (`undefined` until the app's adapter is known). */
  getRouter(): ExpressRouterTarget | undefined {
    return this.target;
  }

  baseUrl(): string {
    const url = this.configuredUrl;
    if (url !== undefined && !url.startsWith('/')) return url;
    const origin = this.listeningUrl() ?? EXPRESS_ROUTER_DEFAULT_BASE_URL;
    return url === undefined ? origin : `${origin}${url.replace(/\/+$/, '')}`;
  }

  addRoute(method: RouteMethod, path: string, handlers: RouteHandler[]): void {
    this.mount({ method, path, handlers: [...handlers] });
  }

  addMiddleware(path: string | undefined, handlers: RouteHandler[]): void {
    this.mount({ method: 'use', path, handlers: [...handlers] });
  }

  private mount(registration: Registration): void {
    if (!this.target) this.attach();
    if (!this.target) {
      this.pending.push(registration);
      return;
    }
    this.apply(this.target, registration);
  }

  private apply(target: ExpressRouterTarget, { method, path, handlers }: Registration): void {
    if (path === undefined) target[method](...handlers);
    else target[method](path, ...handlers);
  }

  /** Finds the app's Express instance and mounts what was registered before it. */
  private attach(): void {
    if (this.target || !this.host) return;
    let adapter: HttpAdapterHost['httpAdapter'] | undefined;
    try {
      adapter = this.host.httpAdapter;
    } catch {
      return;
    }
    if (!adapter) return;
    const instance: unknown = adapter.getInstance?.();
    if (!isRouterTarget(instance) || (adapter.getType?.() ?? 'express') !== 'express') {
      this.logger.error(
        'the application does not run on Express (@nestjs/platform-express): give ExpressRouter a router in its settings',
      );
      this.subscription?.unsubscribe();
      this.host = undefined;
      return;
    }
    this.target = instance;
    for (const registration of this.pending.splice(0)) this.apply(instance, registration);
  }

  /** `http(s)://localhost:<port>` of the app's server once it listens. */
  private listeningUrl(): string | undefined {
    if (!this.host) return undefined;
    try {
      const server = this.host.httpAdapter?.getHttpServer?.() as
        { address?(): unknown; listening?: boolean } | undefined;
      const address = server?.listening ? server.address?.() : undefined;
      if (!address || typeof address !== 'object' || !('port' in address)) return undefined;
      const scheme = server instanceof TlsServer ? 'https' : 'http';
      return `${scheme}://localhost:${(address as { port: number }).port}`;
    } catch {
      return undefined;
    }
  }
}
