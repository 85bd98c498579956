// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const LOG_TOKEN_PREFIX = 'SreLog';

/** Token of a named Log instance (`'SreLog:audit'`); `default` aliases `LogService`. */
export function getLogToken(name = 'default'): string {
  return `${LOG_TOKEN_PREFIX}:${name}`;
}

export function getLogOptionsToken(name = 'default'): string {
  return `${LOG_TOKEN_PREFIX}Options:${name}`;
}
