import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { ComponentService } from './component.service';
import { getComponentOptionsToken, getComponentToken } from './component.tokens';

/** Component connectors by name; add your own with `COMPONENT_CONNECTORS.register(name, cls)`. */
export const COMPONENT_CONNECTORS = new ConnectorRegistry<ComponentService>('Component').plan('LocalComponent');

export const COMPONENT_DEFINITION: SubsystemDefinition = {
  subsystem: 'Component',
  service: ComponentService,
  registry: COMPONENT_CONNECTORS,
  token: getComponentToken,
  optionsToken: getComponentOptionsToken,
  // account resolves the team whose overlay a requester reads and writes
  dependencies: { account: () => AccountService },
};
