/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { connector, type Dependency } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import type { ExpressRouterSettings } from './connectors/express-router.connector';
import { ROUTER_OPERATIONS } from './router.backend';
import { RouterService } from './router.service';

/**
 * Nest's `HttpAdapterHost` (provided by @nestjs/core in every application): where ExpressRouter
 * mounts when its settings give no `router`. Optional: built outside Nest, it needs a `router`.
 */
const HTTP_ADAPTER: Dependency<HttpAdapterHost> = {
  what: "the HttpAdapterHost of @nestjs/core (the application's HTTP server)",
  hint: 'run inside a Nest application, or give ExpressRouter a router in its settings',
  token: () => HttpAdapterHost,
  optional: true,
};

/** The Router subsystem, declared once: registry, tokens, `InjectRouter` and `RouterModule` derive from it. */
export const ROUTER = defineSubsystem({
  subsystem: 'Router',
  service: RouterService,
  operations: ROUTER_OPERATIONS,
  connectors: {
    ExpressRouter: connector<ExpressRouterSettings>(
      () => require('./connectors/express-router.connector').ExpressRouterConnector,
      { uses: { http: HTTP_ADAPTER } },
    ),
    NullRouter: connector(() => require('./connectors/null-router.connector').NullRouterConnector),
  },
});

/** Router connectors by name; add your own with `ROUTER_CONNECTORS.register(name, cls)`. */
export const ROUTER_CONNECTORS = ROUTER.registry;
/** Token of a named Router instance (`'SreRouter:<name>'`); `default` aliases `RouterService`. */
export const getRouterToken = ROUTER.token;
/** Injects the default Router (`RouterService`) or the instance registered under `name`. */
export const InjectRouter = ROUTER.inject;

/**
 * `RouterModule.forRoot({ connector: MyRouter })` provides `RouterService` (or `getRouterToken(name)`
 * for a named instance); `connector` is a registered name or your own class implementing `RouterBackend`.
 */
@Module({})
export class RouterModule extends ROUTER.Module {}
