// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const ROUTER_TOKEN_PREFIX = 'SreRouter';

/** Token of a named Router instance (`'SreRouter:<name>'`); `default` aliases `RouterService`. */
export function getRouterToken(name = 'default'): string {
  return `${ROUTER_TOKEN_PREFIX}:${name}`;
}

export function getRouterOptionsToken(name = 'default'): string {
  return `${ROUTER_TOKEN_PREFIX}Options:${name}`;
}
