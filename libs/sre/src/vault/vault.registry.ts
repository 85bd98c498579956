import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { JSONFileVaultConnector } from './connectors/json-file-vault.connector';
import { NullVaultConnector } from './connectors/null-vault.connector';
import { VaultService } from './vault.service';
import { getVaultOptionsToken, getVaultToken } from './vault.tokens';

/** Vault connectors by name; add your own with `VAULT_CONNECTORS.register(name, cls)`. */
export const VAULT_CONNECTORS = new ConnectorRegistry<VaultService>('Vault')
  .register('JSONFileVault', JSONFileVaultConnector)
  .register('NullVault', NullVaultConnector)
  .plan('SecretsManager', 'HashicorpVault');

export const VAULT_DEFINITION: SubsystemDefinition = {
  subsystem: 'Vault',
  service: VaultService,
  registry: VAULT_CONNECTORS,
  token: getVaultToken,
  optionsToken: getVaultOptionsToken,
  dependencies: { account: () => AccountService },
};
