// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const CODE_TOKEN_PREFIX = 'SreCode';

/** Token of a named Code instance (`'SreCode:<name>'`); `default` aliases `CodeService`. */
export function getCodeToken(name = 'default'): string {
  return `${CODE_TOKEN_PREFIX}:${name}`;
}

export function getCodeOptionsToken(name = 'default'): string {
  return `${CODE_TOKEN_PREFIX}Options:${name}`;
}
