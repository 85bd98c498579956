// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const MODELS_PROVIDER_TOKEN_PREFIX = 'SreModelsProvider';

/** Token of a named ModelsProvider instance (`'SreModelsProvider:<name>'`); `default` aliases `ModelsProviderService`. */
export function getModelsProviderToken(name = 'default'): string {
  return `${MODELS_PROVIDER_TOKEN_PREFIX}:${name}`;
}

export function getModelsProviderOptionsToken(name = 'default'): string {
  return `${MODELS_PROVIDER_TOKEN_PREFIX}Options:${name}`;
}
