import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { CacheService } from '../cache/cache.service';
import { VaultService } from '../vault/vault.service';
import { CodeService } from './code.service';
import { getCodeOptionsToken, getCodeToken } from './code.tokens';

/** Code connectors by name; add your own with `CODE_CONNECTORS.register(name, cls)`. */
export const CODE_CONNECTORS = new ConnectorRegistry<CodeService>('Code').plan('AWSLambda', 'ECMASandbox');

export const CODE_DEFINITION: SubsystemDefinition = {
  subsystem: 'Code',
  service: CodeService,
  registry: CODE_CONNECTORS,
  token: getCodeToken,
  optionsToken: getCodeOptionsToken,
  // account scopes every unit to a team; cache keeps deployment hashes (no redeploy of unchanged
  // code); vault resolves the {{KEY(NAME)}} secrets a unit uses
  dependencies: { account: () => AccountService, cache: () => CacheService, vault: () => VaultService },
};
