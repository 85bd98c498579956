import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { LocalStorageConnector } from './connectors/local-storage.connector';
import { StorageService } from './storage.service';
import { getStorageOptionsToken, getStorageToken } from './storage.tokens';

/** Storage connectors by name; add your own with `STORAGE_CONNECTORS.register(name, cls)`. */
export const STORAGE_CONNECTORS = new ConnectorRegistry<StorageService>('Storage')
  .register('LocalStorage', LocalStorageConnector)
  .plan('S3');

export const STORAGE_DEFINITION: SubsystemDefinition = {
  subsystem: 'Storage',
  service: StorageService,
  registry: STORAGE_CONNECTORS,
  token: getStorageToken,
  optionsToken: getStorageOptionsToken,
  dependencies: { account: () => AccountService },
};
