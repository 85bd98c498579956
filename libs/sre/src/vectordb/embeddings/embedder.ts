import { SreConfigError, type SreErrorSource } from '../../core/errors';
import type { SecretReader } from '../../llm/llm-credentials';
import { GoogleEmbedder } from './google.embedder';
import { LocalEmbedder } from './local.embedder';
import { OpenAIEmbedder } from './openai.embedder';
import { EmbeddingsSettings, providerOf, type Embedder } from './embedding-settings';

export { dimensionsOf, EmbeddingsSettings, type Embedder, type EmbeddingsProvider } from './embedding-settings';
export { embedInBatches, type BatchPolicy } from './embedding-batches';
export { GoogleEmbedder } from './google.embedder';
export { LocalEmbedder } from './local.embedder';
export { OpenAIEmbedder } from './openai.embedder';

/**
 * The embedder `settings` name (`OpenAI`, `Google`/`GoogleAI`, `local`, in any case); vector
 * connectors build theirs here. No SDK or model loads before the first text is embedded.
 */
export function createEmbedder(
  settings: Partial<EmbeddingsSettings> | undefined,
  vault: SecretReader | undefined,
  source: SreErrorSource,
): Embedder {
  const checked = Object.assign(new EmbeddingsSettings(), settings);
  switch (providerOf(checked)) {
    case 'openai':
      return new OpenAIEmbedder(checked, vault, source);
    case 'google':
      return new GoogleEmbedder(checked, vault, source);
    case 'local':
      return new LocalEmbedder(checked, source);
    default:
      throw new SreConfigError([
        `${source.subsystem ?? 'VectorDB'}(${source.connector ?? '?'}).settings.embeddings.provider: unknown provider '${String(checked.provider)}' (use OpenAI, Google or local)`,
      ]);
  }
}
