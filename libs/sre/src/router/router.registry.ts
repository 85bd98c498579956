import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { RouterService } from './router.service';
import { getRouterOptionsToken, getRouterToken } from './router.tokens';

/** Router connectors by name; add your own with `ROUTER_CONNECTORS.register(name, cls)`. */
export const ROUTER_CONNECTORS = new ConnectorRegistry<RouterService>('Router').plan('ExpressRouter', 'NullRouter');

export const ROUTER_DEFINITION: SubsystemDefinition = {
  subsystem: 'Router',
  service: RouterService,
  registry: ROUTER_CONNECTORS,
  token: getRouterToken,
  optionsToken: getRouterOptionsToken,
};
