/* eslint-disable @typescript-eslint/no-require-imports -- the Google SDK loads only when texts are embedded */
import type { GoogleGenAI } from '@google/genai';
import type { SreErrorSource } from '../../core/errors';
import type { SecretReader } from '../../llm/llm-credentials';
import type { EmbeddingsSettings } from './embedding-settings';
import { KeyedEmbedder, loadSdk } from './keyed-embedder';

/** Scales to unit length: vectors cut shorter than the model's own size are not normalised by Google. */
function normalised(values: number[]): number[] {
  const norm = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));
  return norm > 0 ? values.map((value) => value / norm) : values;
}

/**
 * Gemini embeddings (`gemini-embedding-001`, `text-embedding-004`) through the official
 * `@google/genai` SDK (its `embedContent` posts `batchEmbedContents`). `outputDimensionality` asks
 * for the configured size; a longer answer is cut to it (the models are trained so that a prefix
 * is an embedding), every vector is L2-normalised. A shorter one is refused rather than padded
 * with zeros as the original did: padding hides a model that cannot give the size asked for.
 */
export class GoogleEmbedder extends KeyedEmbedder<GoogleGenAI> {
  constructor(settings: EmbeddingsSettings, vault: SecretReader | undefined, source: SreErrorSource) {
    super(settings, vault, source, {
      provider: 'GoogleAI',
      keyVariable: 'GOOGLE_AI_API_KEY',
      createClient: (apiKey) => {
        const { GoogleGenAI: Client } = loadSdk(
          () => require('@google/genai') as typeof import('@google/genai'),
          '@google/genai (npm i @google/genai@^2)',
          'Google embeddings',
          source,
        );
        // The SDK's default fetch uses undici's global dispatcher, absent inside a vm context
        // (Jest); this process' fetch works in both. It does not retry unless asked: the batch runner does.
        return new Client({
          apiKey,
          httpOptions: {
            ...(settings.baseURL ? { baseUrl: settings.baseURL } : {}),
            timeout: settings.timeoutMs ?? 30_000,
            fetch: globalThis.fetch.bind(globalThis),
          },
        });
      },
      embedBatch: async (client, texts, { model, dimensions }) => {
        const response = await client.models.embedContent({
          model,
          contents: texts,
          config: { outputDimensionality: dimensions },
        });
        return (response.embeddings ?? []).map(({ values = [] }) =>
          values.length > dimensions ? normalised(values.slice(0, dimensions)) : normalised(values),
        );
      },
    });
  }
}
