/* eslint-disable @typescript-eslint/no-require-imports -- the OpenAI SDK loads only when texts are embedded */
import { IsBoolean, IsInt, IsOptional, IsString, IsUrl, Max, Min, ValidateBy } from 'class-validator';
import type OpenAI from 'openai';
import { SreUnavailableError, type SreErrorSource } from '../../core/errors';
import { ClientsByCredential, resolveLLMCredentials, type SecretReader } from '../../llm/llm-credentials';
import type { ModelEntry } from '../../models-provider/models-provider.backend';
import type { AccessCandidate } from '../../security/access-candidate';

/** Default model and dimensions per provider (the original's connectors force 3072 when unset). */
const DEFAULT_MODEL = 'text-embedding-3-large';
const MODEL_DIMENSIONS: Record<string, number> = {
  'text-embedding-3-large': 3072,
  'text-embedding-3-small': 1536,
  'text-embedding-ada-002': 1536,
};
const CREDENTIAL_MODES = new Set(['internal', 'vault', 'none']);

function IsOpenAIProvider() {
  return ValidateBy({
    name: 'isEmbeddingsProvider',
    validator: {
      validate: (value) => typeof value === 'string' && value.toLowerCase() === 'openai',
      defaultMessage: (args) =>
        typeof args?.value === 'string' && /^(google|googleai)$/i.test(args.value)
          ? "'GoogleAI' embeddings arrive in a later version of nestjs-sre (available: OpenAI)"
          : "must be 'OpenAI' (the name is not case-sensitive)",
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
 * The seed's `embeddings` settings (§9.3). Credentials are resolved on every call for the
 * namespace's owner: the team's vault key `openai`, then `OPENAI_API_KEY` (`['vault', 'internal']`
 * unless `credentials` says otherwise); one team's key never embeds another team's texts (W38).
 */
export class EmbeddingsSettings {
  @IsOptional()
  @IsOpenAIProvider()
  provider?: string = 'OpenAI';

  @IsOptional()
  @IsString()
  model?: string = DEFAULT_MODEL;

  /** Vector length; default the model's (3072 for text-embedding-3-large). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(8192)
  dimensions?: number;

  @IsOptional()
  @IsCredentialsMode()
  credentials?: unknown;

  /** An OpenAI-compatible endpoint (a proxy, a local server). */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  baseURL?: string;

  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  timeoutMs?: number = 30_000;

  /** Texts per request. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2048)
  batchSize?: number = 64;

  /** Requests in flight at once for one datasource (the original fired all at once, W39). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64)
  concurrency?: number = 4;

  /** Retries of a request on 429 and 5xx (honouring `retry-after`), by the SDK. */
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

/** The length of the vectors `settings` produce. */
export function dimensionsOf(settings: EmbeddingsSettings): number {
  return settings.dimensions ?? MODEL_DIMENSIONS[settings.model ?? DEFAULT_MODEL] ?? 1536;
}

/** OpenAI's embeddings API through the official SDK, one client per API key (never one for all, W38). */
export class OpenAIEmbedder implements Embedder {
  readonly dimensions: number;
  private readonly clients = new ClientsByCredential<OpenAI>();
  private readonly model: string;

  constructor(
    private readonly settings: EmbeddingsSettings,
    private readonly vault: SecretReader | undefined,
    private readonly source: SreErrorSource,
  ) {
    this.model = settings.model ?? DEFAULT_MODEL;
    this.dimensions = dimensionsOf(settings);
  }

  async embed(texts: string[], owner: AccessCandidate): Promise<number[][]> {
    const client = await this.clientFor(owner);
    const inputs = this.settings.stripNewLines === false ? texts : texts.map((text) => text.replace(/\n/g, ' '));
    const size = this.settings.batchSize ?? 64;
    const batches: string[][] = [];
    for (let i = 0; i < inputs.length; i += size) batches.push(inputs.slice(i, i + size));
    const results: number[][][] = new Array(batches.length);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const index = next++;
        const response = await client.embeddings.create({
          model: this.model,
          input: batches[index],
          // ada-002 has one size and refuses the parameter
          ...(this.model === 'text-embedding-ada-002' ? {} : { dimensions: this.dimensions }),
        });
        const ordered = [...response.data].sort((a, b) => a.index - b.index);
        results[index] = ordered.map((item) => item.embedding);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency ?? 4, batches.length) }, worker));
    const vectors = results.flat();
    if (vectors.length !== texts.length || vectors.some((vector) => vector.length !== this.dimensions))
      throw new SreUnavailableError(
        `OpenAI embeddings (${this.model}) answered ${vectors.length} vectors of ${vectors[0]?.length} dimensions for ${texts.length} texts of ${this.dimensions}`,
        this.source,
      );
    return vectors;
  }

  private async clientFor(owner: AccessCandidate): Promise<OpenAI> {
    const model: ModelEntry = {
      provider: 'OpenAI',
      modelId: this.model,
      credentials: (this.settings.credentials as ModelEntry['credentials']) ?? ['vault', 'internal'],
    };
    const { apiKey } = await resolveLLMCredentials(owner, model, this.vault, process.env, this.source);
    if (!apiKey)
      throw new SreUnavailableError(
        `no OpenAI API key to embed for ${owner.role} '${owner.id}': set the team's vault key 'openai' or OPENAI_API_KEY`,
        this.source,
      );
    return this.clients.get({ apiKey }, () => {
      let Client: typeof OpenAI;
      try {
        Client = (require('openai') as typeof import('openai')).OpenAI;
      } catch {
        throw new SreUnavailableError(
          'OpenAI embeddings: install openai (npm i openai@^6) to embed texts',
          this.source,
        );
      }
      return new Client({
        apiKey,
        baseURL: this.settings.baseURL,
        timeout: this.settings.timeoutMs ?? 30_000,
        maxRetries: this.settings.maxRetries ?? 2,
      });
    });
  }
}
