// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const STORAGE_TOKEN_PREFIX = 'SreStorage';

/** Token of a named Storage instance (`'SreStorage:archive'`); `default` aliases `StorageService`. */
export function getStorageToken(name = 'default'): string {
  return `${STORAGE_TOKEN_PREFIX}:${name}`;
}

export function getStorageOptionsToken(name = 'default'): string {
  return `${STORAGE_TOKEN_PREFIX}Options:${name}`;
}
