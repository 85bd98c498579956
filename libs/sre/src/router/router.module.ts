/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { connector, planned } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { ROUTER_OPERATIONS } from './router.backend';
import { RouterService } from './router.service';

/** The Router subsystem, declared once: registry, tokens, `InjectRouter` and `RouterModule` derive from it. */
export const ROUTER = defineSubsystem({
  subsystem: 'Router',
  service: RouterService,
  operations: ROUTER_OPERATIONS,
  connectors: {
    ExpressRouter: planned(),
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
