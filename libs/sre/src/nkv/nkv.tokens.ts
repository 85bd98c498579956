// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const NKV_TOKEN_PREFIX = 'SreNKV';

/** Token of a named NKV instance (`'SreNKV:<name>'`); `default` aliases `NKVService`. */
export function getNKVToken(name = 'default'): string {
  return `${NKV_TOKEN_PREFIX}:${name}`;
}

export function getNKVOptionsToken(name = 'default'): string {
  return `${NKV_TOKEN_PREFIX}Options:${name}`;
}
