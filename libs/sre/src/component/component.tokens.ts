// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const COMPONENT_TOKEN_PREFIX = 'SreComponent';

/** Token of a named Component instance (`'SreComponent:<name>'`); `default` aliases `ComponentService`. */
export function getComponentToken(name = 'default'): string {
  return `${COMPONENT_TOKEN_PREFIX}:${name}`;
}

export function getComponentOptionsToken(name = 'default'): string {
  return `${COMPONENT_TOKEN_PREFIX}Options:${name}`;
}
