import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { RAMCacheConnector } from './connectors/ram.connector';
import { CacheService } from './cache.service';
import { getCacheOptionsToken, getCacheToken } from './cache.tokens';

/** Cache connectors by name; add your own with `CACHE_CONNECTORS.register(name, cls)`. */
export const CACHE_CONNECTORS = new ConnectorRegistry<CacheService>('Cache')
  .register('RAM', RAMCacheConnector)
  .plan('Redis', 'LocalStorage', 'S3');

export const CACHE_DEFINITION: SubsystemDefinition = {
  subsystem: 'Cache',
  service: CacheService,
  registry: CACHE_CONNECTORS,
  token: getCacheToken,
  optionsToken: getCacheOptionsToken,
  dependencies: { account: () => AccountService },
};
