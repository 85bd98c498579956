// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const ACCOUNT_TOKEN_PREFIX = 'SreAccount';

/** Token of a named Account instance (`'SreAccount:<name>'`); `default` aliases `AccountService`. */
export function getAccountToken(name = 'default'): string {
  return `${ACCOUNT_TOKEN_PREFIX}:${name}`;
}

export function getAccountOptionsToken(name = 'default'): string {
  return `${ACCOUNT_TOKEN_PREFIX}Options:${name}`;
}
