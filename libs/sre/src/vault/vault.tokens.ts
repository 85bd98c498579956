// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const VAULT_TOKEN_PREFIX = 'SreVault';

/** Token of a named Vault instance (`'SreVault:<name>'`); `default` aliases `VaultService`. */
export function getVaultToken(name = 'default'): string {
  return `${VAULT_TOKEN_PREFIX}:${name}`;
}

export function getVaultOptionsToken(name = 'default'): string {
  return `${VAULT_TOKEN_PREFIX}Options:${name}`;
}
