import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { ModelsProviderService } from '../models-provider/models-provider.service';
import { VaultService } from '../vault/vault.service';
import { LLMService } from './llm.service';
import { getLLMOptionsToken, getLLMToken } from './llm.tokens';

/**
 * LLM connectors by provider name; add your own with `LLM_CONNECTORS.register(name, cls)`. One
 * module instance serves one provider: configure several with `name` (or SreModule entries with an
 * `Id`) to use several providers.
 */
export const LLM_CONNECTORS = new ConnectorRegistry<LLMService>('LLM').plan(
  'Echo',
  'OpenAI',
  'DeepSeek',
  'GoogleAI',
  'Anthropic',
  'Groq',
  'TogetherAI',
  'Bedrock',
  'VertexAI',
  'xAI',
  'Perplexity',
  'Ollama',
);

export const LLM_DEFINITION: SubsystemDefinition = {
  subsystem: 'LLM',
  service: LLMService,
  registry: LLM_CONNECTORS,
  token: getLLMToken,
  optionsToken: getLLMOptionsToken,
  // vault holds the callers' API keys, modelsProvider resolves models and limits, account the
  // caller's team: all three are consulted per call, as the caller (W38)
  dependencies: {
    vault: () => VaultService,
    modelsProvider: () => ModelsProviderService,
    account: () => AccountService,
  },
};
