import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from './account.service';
import { getAccountOptionsToken, getAccountToken } from './account.tokens';
import { DummyAccountConnector } from './connectors/dummy-account.connector';

/** Account connectors by name; add your own with `ACCOUNT_CONNECTORS.register(name, cls)`. */
export const ACCOUNT_CONNECTORS = new ConnectorRegistry<AccountService>('Account')
  .register('DummyAccount', DummyAccountConnector)
  .plan('JSONFileAccount', 'AWSAccount', 'MySQLAccount');

export const ACCOUNT_DEFINITION: SubsystemDefinition = {
  subsystem: 'Account',
  service: AccountService,
  registry: ACCOUNT_CONNECTORS,
  token: getAccountToken,
  optionsToken: getAccountOptionsToken,
};
