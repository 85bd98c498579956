import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { AwsClientConnection } from '../core/aws-client';
import { connector, planned, type ConnectorEntry, type SdkRequirement } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { MODELS_PROVIDER } from '../models-provider/models-provider.module';
import { VAULT } from '../vault/vault.module';
/* eslint-disable @typescript-eslint/no-require-imports -- connector modules (and their SDKs) load only when used */
import type * as OpenAIModule from './connectors/openai.connector';
import type { OpenAIPreset } from './connectors/openai-presets';
import type { ProviderRouterSettings } from './connectors/provider-router.connector';
import { LLM_OPERATIONS, type LLMBackend } from './llm.backend';
import { LLMService } from './llm.service';

/** The kit's shared AWS client config (region, endpoint, keys), when the application provides one. */
const AWS = { aws: AwsClientConnection.dependency(true) };
const OPENAI: SdkRequirement[] = [{ package: 'openai', range: '^6' }];
const ANTHROPIC: SdkRequirement[] = [{ package: '@anthropic-ai/sdk', range: '^1' }];
const GOOGLE: SdkRequirement[] = [{ package: '@google/genai', range: '^2' }];

/** The OpenAI connector under one of its presets (base URL, auth, quirks): one code path for all of them. */
function openAICompatible(provider: OpenAIPreset): ConnectorEntry<LLMBackend> {
  return connector(
    () => (require('./connectors/openai.connector') as typeof OpenAIModule).openAIConnectorFor(provider),
    { sdk: OPENAI },
  );
}

/**
 * The LLM subsystem, declared once: registry, tokens, `InjectLLM` and `LLMModule` derive from it.
 * `ProviderRouter` serves every provider from one instance, routing each call by its model entry's
 * `provider`; a provider connector (`OpenAI`, `Anthropic`, ...) serves its own provider's models only.
 */
export const LLM = defineSubsystem({
  subsystem: 'LLM',
  service: LLMService,
  operations: LLM_OPERATIONS,
  // consulted on every call, as the caller (W38)
  uses: {
    account: ACCOUNT.dependency("the caller's team"),
    vault: VAULT.dependency("the callers' API keys"),
    modelsProvider: MODELS_PROVIDER.dependency('model resolution and limits'),
  },
  // modules are required only when configured (or first routed to): their SDKs load with them
  connectors: {
    // the router hands its dependencies on to the connectors it builds (Bedrock's AWS config)
    ProviderRouter: connector<ProviderRouterSettings>(
      () => require('./connectors/provider-router.connector').ProviderRouterConnector,
      { uses: AWS },
    ),
    Echo: connector(() => require('./connectors/echo.connector').EchoConnector),
    OpenAI: openAICompatible('OpenAI'),
    DeepSeek: openAICompatible('DeepSeek'),
    GoogleAI: connector(() => require('./connectors/googleai.connector').GoogleAIConnector, { sdk: GOOGLE }),
    Anthropic: connector(() => require('./connectors/anthropic.connector').AnthropicConnector, { sdk: ANTHROPIC }),
    Groq: openAICompatible('Groq'),
    TogetherAI: openAICompatible('TogetherAI'),
    Bedrock: connector(() => require('./connectors/bedrock.connector').BedrockConnector, {
      sdk: [{ package: '@aws-sdk/client-bedrock-runtime', range: '^3' }],
      uses: AWS,
    }),
    VertexAI: planned({ sdk: GOOGLE }),
    xAI: openAICompatible('xAI'),
    Perplexity: openAICompatible('Perplexity'),
    Ollama: openAICompatible('Ollama'),
  },
});

/** LLM connectors by provider name; add your own with `LLM_CONNECTORS.register(name, cls)`. */
export const LLM_CONNECTORS = LLM.registry;
/** Token of a named LLM instance (`'SreLLM:<name>'`); `default` aliases `LLMService`. */
export const getLLMToken = LLM.token;
/** Injects the default LLM (`LLMService`) or the instance registered under `name`. */
export const InjectLLM = LLM.inject;

/**
 * `LLMModule.forRoot({ connector: MyProvider })` provides `LLMService` (or `getLLMToken(name)` for
 * a named instance). It needs the Account, Vault and ModelsProvider subsystems (global, or imported
 * beside it): SreModule provides them.
 */
@Module({})
export class LLMModule extends LLM.Module {}
