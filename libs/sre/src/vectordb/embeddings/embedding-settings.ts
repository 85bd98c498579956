import { IsBoolean, IsInt, IsOptional, IsString, IsUrl, Max, Min, ValidateBy } from 'class-validator';
import { TimeoutMsSetting } from '../../core/setting-decorators';
import type { AccessCandidate } from '../../security/access-candidate';

/** The providers, by the lower-case name settings may spell in any case (`GoogleAI` is the seed's). */
export type EmbeddingsProvider = 'openai' | 'google' | 'local';
const PROVIDER_NAMES: Readonly<Record<string, EmbeddingsProvider>> = {
  openai: 'openai',
  google: 'google',
  googleai: 'google',
  gemini: 'google',
  local: 'local',
};

/** The model each provider embeds with when settings name none. */
export const DEFAULT_MODELS: Readonly<Record<EmbeddingsProvider, string>> = {
  openai: 'text-embedding-3-large',
  google: 'gemini-embedding-001',
  local: 'universal-sentence-encoder-lite',
};

/** Native vector lengths; a model not listed here needs `dimensions`, or takes the provider's fallback. */
const MODEL_DIMENSIONS: Readonly<Record<string, number>> = {
  'text-embedding-3-large': 3072,
  'text-embedding-3-small': 1536,
  'text-embedding-ada-002': 1536,
  'gemini-embedding-001': 3072,
  'text-embedding-004': 768,
  'text-embedding-005': 768,
  'text-multilingual-embedding-002': 768,
  'universal-sentence-encoder-lite': 512,
};
const FALLBACK_DIMENSIONS: Readonly<Record<EmbeddingsProvider, number>> = { openai: 1536, google: 768, local: 512 };
const CREDENTIAL_MODES = new Set(['internal', 'vault', 'none']);

/** The provider `settings` name, or `undefined` when it names none this version knows. */
export function providerOf(settings: Pick<EmbeddingsSettings, 'provider'>): EmbeddingsProvider | undefined {
  const name = settings.provider ?? 'openai';
  return typeof name === 'string' && Object.hasOwn(PROVIDER_NAMES, name.toLowerCase())
    ? PROVIDER_NAMES[name.toLowerCase()]
    : undefined;
}

/** The model `settings` embed with. */
export function modelOf(settings: EmbeddingsSettings): string {
  return settings.model ?? DEFAULT_MODELS[providerOf(settings) ?? 'openai'];
}

/** The length of the vectors `settings` produce. */
export function dimensionsOf(settings: EmbeddingsSettings): number {
  const provider = providerOf(settings) ?? 'openai';
  return settings.dimensions ?? MODEL_DIMENSIONS[modelOf(settings)] ?? FALLBACK_DIMENSIONS[provider];
}

function IsEmbeddingsProvider() {
  return ValidateBy({
    name: 'isEmbeddingsProvider',
    validator: {
      validate: (value) => typeof value === 'string' && Object.hasOwn(PROVIDER_NAMES, value.toLowerCase()),
      defaultMessage: () => "must be 'OpenAI', 'Google' (or 'GoogleAI') or 'local' (the name is not case-sensitive)",
    },
  });
}

/** The local model has one size and one name: anything else would be silently ignored, so it is refused. */
function FitsLocalModel(field: 'model' | 'dimensions') {
  return ValidateBy({
    name: 'fitsLocalModel',
    validator: {
      validate: (value, args) => {
        if (providerOf(args?.object as EmbeddingsSettings) !== 'local' || value === undefined) return true;
        return field === 'model' ? value === DEFAULT_MODELS.local : value === MODEL_DIMENSIONS[DEFAULT_MODELS.local];
      },
      defaultMessage: () =>
        field === 'model'
          ? `the local provider has one model, '${DEFAULT_MODELS.local}'`
          : `the local model's vectors have ${MODEL_DIMENSIONS[DEFAULT_MODELS.local]} dimensions`,
    },
  });
}

function IsCredentialsMode() {
  return ValidateBy({
    name: 'isCredentialsMode',
    validator: {
      validate: (value) => {
        const modes = Array.isArray(value) ? value : [value];
        return (
          modes.length > 0 &&
          modes.every(
            (mode) =>
              (typeof mode === 'string' && CREDENTIAL_MODES.has(mode)) ||
              (mode !== null && typeof mode === 'object' && !Array.isArray(mode)),
          )
        );
      },
      defaultMessage: () => "must be 'internal', 'vault', 'none', { apiKey }, or a list of them",
    },
  });
}

/**
 * The seed's `embeddings` settings (§9.3). `OpenAI` and `Google` embed over their APIs with
 * credentials resolved on every call for the namespace's owner: the team's vault key (`openai`,
 * `googleai`), then `OPENAI_API_KEY` / `GOOGLE_AI_API_KEY` (`['vault', 'internal']` unless
 * `credentials` says otherwise), so one team's key never embeds another team's texts (W38).
 * `local` embeds in this process with no key and no network (Universal Sentence Encoder lite,
 * 512 dimensions, from `@energetic-ai/embeddings`).
 */
export class EmbeddingsSettings {
  @IsOptional()
  @IsEmbeddingsProvider()
  provider?: string = 'OpenAI';

  /** Default: the provider's (`text-embedding-3-large`, `gemini-embedding-001`). */
  @IsOptional()
  @IsString()
  @FitsLocalModel('model')
  model?: string;

  /** Vector length; default the model's (3072 for text-embedding-3-large and gemini-embedding-001). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(8192)
  @FitsLocalModel('dimensions')
  dimensions?: number;

  @IsOptional()
  @IsCredentialsMode()
  credentials?: unknown;

  /** Another endpoint of the provider's API (a proxy, a compatible local server). */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  baseURL?: string;

  @TimeoutMsSetting()
  timeoutMs?: number = 30_000;

  /** Texts per request (Google takes at most 100). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2048)
  batchSize?: number = 64;

  /** Requests in flight at once for one call (the original fired all at once, W39); `local` runs one at a time. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64)
  concurrency?: number = 4;

  /** Retries of a request on 429, 408, 5xx and broken connections, honouring the advised delay. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10)
  maxRetries?: number = 2;

  @IsOptional()
  @IsBoolean()
  stripNewLines?: boolean = true;
}

/** Turns texts into vectors for one owner. */
export interface Embedder {
  readonly dimensions: number;
  embed(texts: string[], owner: AccessCandidate): Promise<number[][]>;
}
