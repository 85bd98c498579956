/** Cosine similarity of two vectors of one length; 0 when either is all zeros (no direction to compare). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let left = 0;
  let right = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    left += a[i] * a[i];
    right += b[i] * b[i];
  }
  return left === 0 || right === 0 ? 0 : dot / Math.sqrt(left * right);
}
