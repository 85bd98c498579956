import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { planned } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { COMPONENT_OPERATIONS } from './component.backend';
import { ComponentService } from './component.service';

/** The Component subsystem, declared once: registry, tokens, `InjectComponent` and `ComponentModule` derive from it. */
export const COMPONENT = defineSubsystem({
  subsystem: 'Component',
  service: ComponentService,
  operations: COMPONENT_OPERATIONS,
  // the team whose overlay a requester reads and writes
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    LocalComponent: planned(),
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
 */
@Module({})
export class ComponentModule extends COMPONENT.Module {}
