// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const CACHE_TOKEN_PREFIX = 'SreCache';

/** Token of a named Cache instance (`'SreCache:sessions'`); `default` aliases `CacheService`. */
export function getCacheToken(name = 'default'): string {
  return `${CACHE_TOKEN_PREFIX}:${name}`;
}

export function getCacheOptionsToken(name = 'default'): string {
  return `${CACHE_TOKEN_PREFIX}Options:${name}`;
}
