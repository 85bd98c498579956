import type { Logger } from '@nestjs/common';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type { RouteHandler, RouteMethod, RouterBackend } from '../router.backend';

/** The base URL NullRouter answers (the original's). */
export const NULL_ROUTER_BASE_URL = 'http://nullrouter.local';

/**
 * A router that serves nothing (the seed's default): its base URL is `http://nullrouter.local`, and
 * every route and middleware is accepted and dropped, with a debug line naming what was dropped
 * (never the handlers). Links built on it (SmythFS temporary URLs) lead nowhere: configure
 * ExpressRouter to serve them.
 */
export class NullRouterConnector implements RouterBackend {
  static readonly connectorName = 'NullRouter';

  private readonly logger: Logger;

  constructor(
    _settings: object = {},
    context: ConnectorContext = createConnectorContext({ subsystem: 'Router', connector: 'NullRouter' }),
  ) {
    this.logger = context.logger;
  }

  baseUrl(): string {
    return NULL_ROUTER_BASE_URL;
  }

  addRoute(method: RouteMethod, path: string, handlers: RouteHandler[]): void {
    this.logger.debug(
      `ignored ${method.toUpperCase()} ${path} (${handlers.length} handler(s)): NullRouter serves nothing`,
    );
  }

  addMiddleware(path: string | undefined, handlers: RouteHandler[]): void {
    this.logger.debug(
      `ignored middleware under ${path ?? 'every path'} (${handlers.length} handler(s)): NullRouter serves nothing`,
    );
  }
}
