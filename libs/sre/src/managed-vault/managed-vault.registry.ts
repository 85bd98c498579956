import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { ManagedVaultService } from './managed-vault.service';
import { getManagedVaultOptionsToken, getManagedVaultToken } from './managed-vault.tokens';

/** ManagedVault connectors by name; add your own with `MANAGED_VAULT_CONNECTORS.register(name, cls)`. */
export const MANAGED_VAULT_CONNECTORS = new ConnectorRegistry<ManagedVaultService>('ManagedVault').plan(
  'SecretManagerManagedVault',
  'NullManagedVault',
);

export const MANAGED_VAULT_DEFINITION: SubsystemDefinition = {
  subsystem: 'ManagedVault',
  service: ManagedVaultService,
  registry: MANAGED_VAULT_CONNECTORS,
  token: getManagedVaultToken,
  optionsToken: getManagedVaultOptionsToken,
  // account resolves the team whose namespace every call uses
  dependencies: { account: () => AccountService },
};
