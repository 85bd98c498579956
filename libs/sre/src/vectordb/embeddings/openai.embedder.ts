/* eslint-disable @typescript-eslint/no-require-imports -- the OpenAI SDK loads only when texts are embedded */
import type OpenAI from 'openai';
import type { SreErrorSource } from '../../core/errors';
import type { SecretReader } from '../../llm/llm-credentials';
import type { EmbeddingsSettings } from './embedding-settings';
import { KeyedEmbedder, loadSdk } from './keyed-embedder';

/** OpenAI's embeddings API (or a compatible one at `baseURL`) through the official SDK. */
export class OpenAIEmbedder extends KeyedEmbedder<OpenAI> {
  constructor(settings: EmbeddingsSettings, vault: SecretReader | undefined, source: SreErrorSource) {
    super(settings, vault, source, {
      provider: 'OpenAI',
      keyVariable: 'OPENAI_API_KEY',
      createClient: (apiKey) => {
        const { OpenAI: Client } = loadSdk(
          () => require('openai') as typeof import('openai'),
          'openai (npm i openai@^6)',
          'OpenAI embeddings',
          source,
        );
        // retries are the batch runner's, the same for every provider
        return new Client({ apiKey, baseURL: settings.baseURL, timeout: settings.timeoutMs ?? 30_000, maxRetries: 0 });
      },
      embedBatch: async (client, texts, { model, dimensions }) => {
        const response = await client.embeddings.create({
          model,
          input: texts,
          // ada-002 has one size and refuses the parameter
          ...(model === 'text-embedding-ada-002' ? {} : { dimensions }),
        });
        return [...response.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
      },
    });
  }
}
