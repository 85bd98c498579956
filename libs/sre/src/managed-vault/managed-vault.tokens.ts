// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const MANAGED_VAULT_TOKEN_PREFIX = 'SreManagedVault';

/** Token of a named ManagedVault instance (`'SreManagedVault:<name>'`); `default` aliases `ManagedVaultService`. */
export function getManagedVaultToken(name = 'default'): string {
  return `${MANAGED_VAULT_TOKEN_PREFIX}:${name}`;
}

export function getManagedVaultOptionsToken(name = 'default'): string {
  return `${MANAGED_VAULT_TOKEN_PREFIX}Options:${name}`;
}
