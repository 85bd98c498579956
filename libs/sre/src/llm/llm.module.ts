import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { planned, type SdkRequirement } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { MODELS_PROVIDER } from '../models-provider/models-provider.module';
import { VAULT } from '../vault/vault.module';
import { LLM_OPERATIONS } from './llm.backend';
import { LLMService } from './llm.service';

const OPENAI: SdkRequirement[] = [{ package: 'openai', range: '^6' }];
const GOOGLE: SdkRequirement[] = [{ package: '@google/genai', range: '^2' }];

/**
 * The LLM subsystem, declared once: registry, tokens, `InjectLLM` and `LLMModule` derive from it.
 * One module instance serves one provider: configure several with `name` (or SreModule entries
 * with an `Id`) to use several providers.
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
  connectors: {
    Echo: planned(),
    OpenAI: planned({ sdk: OPENAI }),
    DeepSeek: planned({ sdk: OPENAI }),
    GoogleAI: planned({ sdk: GOOGLE }),
    Anthropic: planned({ sdk: [{ package: '@anthropic-ai/sdk', range: '^1' }] }),
    Groq: planned({ sdk: OPENAI }),
    TogetherAI: planned({ sdk: OPENAI }),
    Bedrock: planned({ sdk: [{ package: '@aws-sdk/client-bedrock-runtime', range: '^3' }] }),
    VertexAI: planned({ sdk: GOOGLE }),
    xAI: planned({ sdk: OPENAI }),
    Perplexity: planned({ sdk: OPENAI }),
    Ollama: planned({ sdk: OPENAI }),
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
