import { SreUnavailableError, type SreErrorSource } from '../../core/errors';
import { ClientsByCredential, resolveLLMCredentials, type SecretReader } from '../../llm/llm-credentials';
import type { ModelEntry } from '../../models-provider/models-provider.backend';
import type { AccessCandidate } from '../../security/access-candidate';
import { embedInBatches } from './embedding-batches';
import { dimensionsOf, modelOf, type Embedder, type EmbeddingsSettings } from './embedding-settings';

/** How one hosted provider is reached: its names, its key's places, and its SDK. */
export interface ProviderWire<Client extends object> {
  /** The provider as credentials resolution names it (`OpenAI`, `GoogleAI`): the vault key is its lower case. */
  readonly provider: string;
  /** Environment variable of the `internal` credentials mode, for messages. */
  readonly keyVariable: string;
  /** Builds a client for one key; loads the SDK, so it runs on the first embed only. */
  createClient(apiKey: string): Client;
  embedBatch(client: Client, texts: string[], target: { model: string; dimensions: number }): Promise<number[][]>;
}

/**
 * A hosted embeddings API: the key is resolved for each call's owner and each distinct key gets
 * its own SDK client, never one built with the first caller's key for everyone (W38); texts go in
 * bounded, retried batches (W39).
 */
export class KeyedEmbedder<Client extends object> implements Embedder {
  readonly dimensions: number;
  readonly model: string;
  private readonly clients = new ClientsByCredential<Client>();

  constructor(
    protected readonly settings: EmbeddingsSettings,
    private readonly vault: SecretReader | undefined,
    protected readonly source: SreErrorSource,
    private readonly wire: ProviderWire<Client>,
  ) {
    this.model = modelOf(settings);
    this.dimensions = dimensionsOf(settings);
  }

  async embed(texts: string[], owner: AccessCandidate): Promise<number[][]> {
    const client = await this.clientFor(owner);
    const inputs = this.settings.stripNewLines === false ? texts : texts.map((text) => text.replace(/\n/g, ' '));
    return embedInBatches(
      inputs,
      {
        batchSize: this.settings.batchSize ?? 64,
        concurrency: this.settings.concurrency ?? 4,
        maxRetries: this.settings.maxRetries ?? 2,
      },
      (batch) => this.wire.embedBatch(client, batch, this),
      {
        what: `${this.wire.provider} embeddings (${this.model})`,
        dimensions: this.dimensions,
        source: this.source,
        vaultKey: this.wire.provider.toLowerCase(),
      },
    );
  }

  private async clientFor(owner: AccessCandidate): Promise<Client> {
    const model: ModelEntry = {
      provider: this.wire.provider,
      modelId: this.model,
      credentials: (this.settings.credentials as ModelEntry['credentials']) ?? ['vault', 'internal'],
    };
    const { apiKey } = await resolveLLMCredentials(owner, model, this.vault, process.env, this.source);
    if (typeof apiKey !== 'string' || !apiKey)
      throw new SreUnavailableError(
        `no ${this.wire.provider} API key to embed for ${owner.role} '${owner.id}': set the team's vault key '${this.wire.provider.toLowerCase()}' or ${this.wire.keyVariable}`,
        this.source,
      );
    return this.clients.get({ apiKey, baseURL: this.settings.baseURL }, () => this.wire.createClient(apiKey));
  }
}

/** `require(name)`, or a sentence saying what to install. */
export function loadSdk<T>(load: () => T, install: string, what: string, source: SreErrorSource): T {
  try {
    return load();
  } catch (error) {
    if ((error as { code?: string })?.code !== 'MODULE_NOT_FOUND') throw error;
    throw new SreUnavailableError(`${what}: install ${install} to embed texts`, source, { cause: error });
  }
}
