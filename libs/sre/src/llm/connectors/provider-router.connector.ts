/* eslint-disable @typescript-eslint/no-require-imports -- the registry is read when the first model is routed */
import { Logger } from '@nestjs/common';
import { IsArray, IsOptional, IsString } from 'class-validator';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import type { ConnectorRegistry } from '../../core/registry';
import type { LLMBackend, LLMChatResult, LLMProviderRequest, LLMStreamEvent } from '../llm.backend';

export class ProviderRouterSettings {
  /** The providers to route to (registry names, e.g. `['Echo', 'OpenAI']`); default every available one. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  providers?: string[];
}

/**
 * Routes each call to the connector of its model entry's `provider` (ModelsProvider, as the caller),
 * so that one LLMService serves every configured provider and an Anthropic model can only ever
 * reach the Anthropic connector. Provider connectors are built (and their SDKs loaded) on the first
 * call that needs them; provider names match without regard to case (W40).
 */
export class ProviderRouterConnector implements LLMBackend {
  static readonly connectorName = 'ProviderRouter';
  static readonly settingsClass = ProviderRouterSettings;

  private readonly backends = new Map<string, Promise<LLMBackend>>();
  private readonly allowed?: readonly string[];

  constructor(
    settings: ProviderRouterSettings,
    private readonly context: ConnectorContext,
    private readonly registry: () => ConnectorRegistry<LLMBackend> = () =>
      (require('../llm.module') as { LLM_CONNECTORS: ConnectorRegistry<LLMBackend> }).LLM_CONNECTORS,
  ) {
    this.allowed = settings?.providers;
  }

  chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    return this.backendFor(request).then((backend) => backend.chat(request));
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    yield* (await this.backendFor(request)).stream(request);
  }

  async disconnect(): Promise<void> {
    const open = [...this.backends.values()];
    this.backends.clear();
    await Promise.all(open.map((pending) => pending.then((backend) => backend.disconnect?.()).catch(() => undefined)));
  }

  private async backendFor(request: LLMProviderRequest): Promise<LLMBackend> {
    const { modelInfo, modelEntryName } = request.context;
    const provider = modelInfo.provider ?? modelInfo.llm;
    const source = { subsystem: 'LLM', connector: ProviderRouterConnector.connectorName };
    if (typeof provider !== 'string' || provider === '')
      throw new SreInvalidInputError(
        `model '${modelEntryName}' is not in the models list (or has no provider): nothing to route it to`,
        source,
      );
    const registry = this.registry();
    const candidates = (this.allowed ?? registry.names()).filter((name) => name !== 'ProviderRouter');
    const name = candidates.find((known) => known.toLowerCase() === provider.toLowerCase());
    if (!name)
      throw new SreUnavailableError(
        `no LLM connector for provider '${provider}' of model '${modelEntryName}' (routed: ${candidates.join(', ')})`,
        source,
      );
    const existing = this.backends.get(name);
    if (existing) return existing;
    const found = registry.lookup(name);
    if ('problem' in found) throw new SreUnavailableError(`LLM(${name}): ${found.problem}`, source);
    const context = createConnectorContext({
      ...this.context,
      connector: name,
      logger: new Logger(`LLM(${name})`),
    });
    const backend = new found.cls({}, context);
    // concurrent first calls share one connector (and one connect)
    const pending = Promise.resolve(backend.connect?.()).then(() => backend);
    this.backends.set(name, pending);
    pending.catch(() => this.backends.delete(name));
    return pending;
  }
}
