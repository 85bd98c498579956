/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { ACCOUNT } from '../account/account.module';
import { connector, type Dependency } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { COMPONENT_OPERATIONS } from './component.backend';
import { ComponentService } from './component.service';
import type { LocalComponentSettings } from './connectors/local-component.connector';

/**
 * Nest's `DiscoveryService`, through which `LocalComponent` finds the `@SreComponent` providers.
 * Optional: `ComponentModule` imports `DiscoveryModule` itself, and a connector built without it
 * (outside Nest) registers only what it is given.
 */
const DISCOVERY: Dependency<DiscoveryService> = {
  what: 'the DiscoveryService of @nestjs/core (to find the @SreComponent providers)',
  hint: 'import DiscoveryModule from @nestjs/core',
  token: () => DiscoveryService,
  optional: true,
};

/** The Component subsystem, declared once: registry, tokens, `InjectComponent` and `ComponentModule` derive from it. */
export const COMPONENT = defineSubsystem({
  subsystem: 'Component',
  service: ComponentService,
  operations: COMPONENT_OPERATIONS,
  // the team whose overlay a requester reads and writes
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    LocalComponent: connector<LocalComponentSettings>(
      () => require('./connectors/local-component.connector').LocalComponentConnector,
      { uses: { discovery: DISCOVERY } },
    ),
  },
});

/** Component connectors by name; add your own with `COMPONENT_CONNECTORS.register(name, cls)`. */
export const COMPONENT_CONNECTORS = COMPONENT.registry;
/** Token of a named Component instance (`'SreComponent:<name>'`); `default` aliases `ComponentService`. */
export const getComponentToken = COMPONENT.token;
/** Injects the default Component (`ComponentService`) or the instance registered under `name`. */
export const InjectComponent = COMPONENT.inject;

/**
 * `ComponentModule.forRoot({ connector: MyComponents })` provides `ComponentService` (or
 * `getComponentToken(name)` for a named instance); `connector` is a registered name or your own class
 * implementing `ComponentBackend`. Needs the Account subsystem (global, or imported beside it).
 * Imports `DiscoveryModule`, so that `LocalComponent` finds the providers marked `@SreComponent`.
 */
@Module({ imports: [DiscoveryModule] })
export class ComponentModule extends COMPONENT.Module {}
