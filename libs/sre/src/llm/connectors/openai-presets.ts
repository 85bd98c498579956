/** How an OpenAI-compatible provider differs from OpenAI itself: where it lives, its auth, its quirks. */
export interface OpenAIPresetInfo {
  /** Used when the model entry has no `baseURL` (`undefined`: the SDK's own, api.openai.com). */
  baseURL?: string;
  /** A missing key is refused before the call; false for local servers that take none (Ollama). */
  keyRequired: boolean;
  /** Newer OpenAI models take `max_completion_tokens` only; most compatible servers know `max_tokens` only. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** `json_schema` response format (else `json_object` plus an instruction, and the service checks the schema). */
  jsonSchema: boolean;
  /** Accepts `stream_options.include_usage` (usage at the end of a stream). */
  streamUsage: boolean;
  /** Accepts `tools` (function calling); a call with tools to one that does not is refused. */
  tools: boolean;
  /** xAI's live search (`search_parameters`), for `useSearch` on a model with the `search` feature. */
  liveSearch?: boolean;
}

const COMPATIBLE = { keyRequired: true, maxTokensField: 'max_tokens', streamUsage: true, tools: true } as const;

/** The presets, by the registry name (= ModelsProvider `provider`). */
export const OPENAI_PRESETS = {
  OpenAI: {
    keyRequired: true,
    maxTokensField: 'max_completion_tokens',
    jsonSchema: true,
    streamUsage: true,
    tools: true,
  },
  Groq: { ...COMPATIBLE, baseURL: 'https://api.groq.com/openai/v1', jsonSchema: true },
  DeepSeek: { ...COMPATIBLE, baseURL: 'https://api.deepseek.com/v1', jsonSchema: false },
  TogetherAI: { ...COMPATIBLE, baseURL: 'https://api.together.xyz/v1', jsonSchema: true },
  xAI: { ...COMPATIBLE, baseURL: 'https://api.x.ai/v1', jsonSchema: true, liveSearch: true },
  Perplexity: { ...COMPATIBLE, baseURL: 'https://api.perplexity.ai', jsonSchema: true, tools: false },
  Ollama: { ...COMPATIBLE, baseURL: 'http://localhost:11434/v1', keyRequired: false, jsonSchema: true },
} as const satisfies Record<string, OpenAIPresetInfo>;

export type OpenAIPreset = keyof typeof OPENAI_PRESETS;

/** A model entry's `baseURL` for Ollama may be the server's origin (`http://host:11434`): the API is under `/v1`. */
export function baseURLFor(preset: OpenAIPreset, entryURL: string | undefined): string | undefined {
  const url = entryURL ?? (OPENAI_PRESETS[preset] as OpenAIPresetInfo).baseURL;
  if (!url || preset !== 'Ollama') return url;
  const trimmed = url.replace(/\/+$/, '').replace(/\/api$/, '');
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}
