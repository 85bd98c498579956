import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { CacheService } from '../cache/cache.service';
import { NKVService } from './nkv.service';
import { getNKVOptionsToken, getNKVToken } from './nkv.tokens';

/** NKV connectors by name; add your own with `NKV_CONNECTORS.register(name, cls)`. */
export const NKV_CONNECTORS = new ConnectorRegistry<NKVService>('NKV').plan('LocalStorage', 'Redis', 'RAM');

export const NKV_DEFINITION: SubsystemDefinition = {
  subsystem: 'NKV',
  service: NKVService,
  registry: NKV_CONNECTORS,
  token: getNKVToken,
  optionsToken: getNKVOptionsToken,
  // account resolves the team that scopes every namespace; cache is the Redis/RAM connection the
  // original's NKVRedis/NKVRAM borrowed by a hard-coded instance id (W02)
  dependencies: { account: () => AccountService, cache: () => CacheService },
};
