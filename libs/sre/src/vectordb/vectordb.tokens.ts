// Leaf file: no imports, so tokens can be used anywhere without import cycles.
export const VECTORDB_TOKEN_PREFIX = 'SreVectorDB';

/** Token of a named VectorDB instance (`'SreVectorDB:<name>'`); `default` aliases `VectorDBService`. */
export function getVectorDBToken(name = 'default'): string {
  return `${VECTORDB_TOKEN_PREFIX}:${name}`;
}

export function getVectorDBOptionsToken(name = 'default'): string {
  return `${VECTORDB_TOKEN_PREFIX}Options:${name}`;
}
