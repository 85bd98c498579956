// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const LLM_TOKEN_PREFIX = 'SreLLM';

/** Token of a named LLM instance (`'SreLLM:<name>'`); `default` aliases `LLMService`. */
export function getLLMToken(name = 'default'): string {
  return `${LLM_TOKEN_PREFIX}:${name}`;
}

export function getLLMOptionsToken(name = 'default'): string {
  return `${LLM_TOKEN_PREFIX}Options:${name}`;
}
