import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { MemoryModelsProviderBackend } from '../testing/backends/memory-models-provider.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectModelsProvider, MODELS_PROVIDER, ModelsProviderModule } from './models-provider.module';
import { ModelMap, ModelsProviderService, resolveModelInfo } from './models-provider.service';

const BUILT_INS: ModelMap = {
  'gpt-4o': { modelId: 'gpt-4o', provider: 'OpenAI', tokens: 128_000, completionTokens: 16_384, credentials: 'vault' },
  'gpt-4o-smyth': {
    modelId: 'x',
    alias: 'gpt-4o',
    tokens: 4000,
    completionTokens: 1000,
    keyOptions: { tokens: 100_000, completionTokens: 8000 },
  },
  'claude-legacy': { modelId: 'claude-2', llm: 'Anthropic', tokens: 1000, tags: ['sdk'] },
  'no-limits': { modelId: 'nl', provider: 'Echo' },
};

/** The memory backend over the built-ins, as a user's own connector class. */
class BuiltInModelsProvider extends MemoryModelsProviderBackend {
  constructor() {
    super({
      models: BUILT_INS,
      customModelDefaults: { 'anthropic.claude-3': { tokens: 200_000, completionTokens: 4096 } },
    });
  }
}

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };
const SETTINGS: Record<string, Record<string, string>> = {
  'team-a': {
    'custom-llm': JSON.stringify({
      e1: {
        name: 'my-bedrock',
        provider: 'Bedrock',
        features: ['text-completion', 'tool-use'],
        tags: ['x'],
        settings: { foundationModel: 'anthropic.claude-3', customModel: '' },
      },
    }),
    'user-custom-llm': JSON.stringify({
      u1: {
        name: 'my-ollama',
        modelId: 'llama3',
        provider: 'Ollama',
        baseURL: 'http://localhost:11434',
        contextWindow: 4096,
      },
    }),
  },
  'team-b': { 'custom-llm': 'not json {' },
};

const forTeam = (team: string) => ({ getSetting: async (key: string) => SETTINGS[team]?.[key] });

describe('ModelsProviderModule', () => {
  const { useConnector } = describeSubsystemModule<BuiltInModelsProvider, ModelsProviderService>(
    MODELS_PROVIDER,
    ModelsProviderModule,
    InjectModelsProvider,
    {
      connector: BuiltInModelsProvider,
      // ModelsProvider requires Account: a stand-in beside every boot of the shared suite
      imports: [fakeAccountModule(TEAMS, { forTeam })],
      planned: [],
      available: ['JSONModelsProvider'],
      unknownName: 'YAML',
    },
  );

  it('refuses to boot without the Account subsystem, saying what to import', async () => {
    await expect(
      Test.createTestingModule({
        imports: [ModelsProviderModule.forRoot({ connector: BuiltInModelsProvider })],
      }).compile(),
    ).rejects.toThrow('needs the Account subsystem (team resolution and custom models)');
  });

  it('resolves aliases, applies key options only with a key, and keeps unknown names', () => {
    expect(resolveModelInfo(BUILT_INS, 'gpt-4o-smyth')).toMatchObject({
      modelId: 'gpt-4o',
      provider: 'OpenAI',
      tokens: 4000,
      completionTokens: 1000,
    });
    expect(resolveModelInfo(BUILT_INS, 'gpt-4o-smyth', true)).toMatchObject({
      modelId: 'gpt-4o',
      tokens: 100_000,
      completionTokens: 8000,
    });
    expect(resolveModelInfo(BUILT_INS, 'unknown-model')).toEqual({ modelId: 'unknown-model' });
    expect(resolveModelInfo(BUILT_INS, { modelId: 'direct', provider: 'Groq' })).toEqual({
      modelId: 'direct',
      provider: 'Groq',
    });
    expect(() => resolveModelInfo(BUILT_INS, { provider: 'Groq' })).toThrow(SreInvalidInputError);
    // names that exist on every object's prototype are models like any other
    expect(resolveModelInfo(BUILT_INS, 'constructor')).toEqual({ modelId: 'constructor' });
    expect(resolveModelInfo({ a: { modelId: 'a', alias: 'toString' } }, 'a').modelId).toBe('toString');
  });

  describe('requester (built by the module)', () => {
    const provider = useConnector();

    it('answers the token rules of the original', async () => {
      const models = provider().requester(AccessCandidate.public());
      expect(await models.getMaxContextTokens('no-limits')).toBe(1024);
      expect(await models.getMaxCompletionTokens('no-limits')).toBe(512);
      expect(await models.getMaxCompletionTokens('gpt-4o')).toBe(16_384);
      expect(await models.adjustMaxCompletionTokens('gpt-4o', 50_000)).toBe(16_384);
      expect(await models.adjustMaxCompletionTokens('gpt-4o', 0)).toBe(512);
      expect(await models.getProvider('claude-legacy')).toBe('Anthropic');
      expect(await models.getModelId('gpt-4o-smyth')).toBe('gpt-4o');
      expect(await models.isStandardLLM('gpt-4o')).toBe(true);
      await expect(
        models.validateTokensLimit({ model: 'gpt-4o-smyth', promptTokens: 3500, completionTokens: 1000 }),
      ).rejects.toThrow('max tokens limit of 4000');
      await expect(
        models.validateTokensLimit({
          model: 'gpt-4o-smyth',
          promptTokens: 3500,
          completionTokens: 1000,
          hasAPIKey: true,
        }),
      ).resolves.toBeUndefined();
      await expect(
        models.validateTokensLimit({ model: 'claude-legacy', promptTokens: 5000, completionTokens: 1 }),
      ).resolves.toBeUndefined();
    });

    it("adds the team's custom models from its Account settings", async () => {
      const models = provider().agent('a1');
      const custom = await models.getCustomModels();
      expect(Object.keys(custom).sort()).toEqual(['my-bedrock', 'my-ollama']);
      expect(await models.getModelInfo('my-bedrock')).toMatchObject({
        modelId: 'anthropic.claude-3',
        provider: 'Bedrock',
        features: ['text', 'tools'],
        tags: ['Enterprise', 'x'],
        tokens: 200_000,
        credentials: 'bedrock_vault',
        isCustomLLM: true,
      });
      // the alias is the foundation model: its global entry, when there is one, is the base
      expect(await models.isStandardLLM('my-bedrock')).toBe(false);
      expect(await models.isUserCustomLLM('my-ollama')).toBe(true);
      expect(await models.getBaseURL('my-ollama')).toBe('http://localhost:11434');
      expect(await models.getMaxContextTokens('my-ollama')).toBe(4096);
      // a malformed setting hides nothing else
      expect(Object.keys(await provider().agent('b1').getModels()).sort()).toEqual(Object.keys(BUILT_INS).sort());
    });

    it('reads the models once per requester and hands out copies', async () => {
      const backend = backendOf<MemoryModelsProviderBackend>(provider());
      const before = backend.reads;
      const models = provider().agent('a1');
      const all = await models.getModels();
      await models.getModelInfo('gpt-4o');
      await models.getMaxCompletionTokens('gpt-4o');
      expect(backend.reads - before).toBe(1);
      all['gpt-4o'].tokens = 1;
      expect(await models.getMaxContextTokens('gpt-4o')).toBe(128_000);
    });

    it('keeps models added by a team inside that team (W10)', async () => {
      await provider()
        .agent('a1')
        .addModels({ mine: { modelId: 'm-1', provider: 'Groq', tokens: 10 } });
      expect(await provider().team('team-a').getModelInfo('mine')).toMatchObject({ modelId: 'm-1', provider: 'Groq' });
      expect(await provider().agent('b1').getModelInfo('mine')).toEqual({ modelId: 'mine' });
      expect(await provider().requester(AccessCandidate.public()).getModels()).not.toHaveProperty('mine');
    });

    it('denies additions without a team or on another team, and rejects invalid entries', async () => {
      await expect(
        provider()
          .requester(AccessCandidate.public())
          .addModels({ x: { modelId: 'x' } }),
      ).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(
        provider()
          .user('nobody')
          .addModels({ x: { modelId: 'x' } }),
      ).rejects.toBeInstanceOf(SreAccessDeniedError);
      expect(await provider().hasAccess(AccessCandidate.agent('b1'), 'write', 'teams/team-a/models')).toBe(false);
      expect(await provider().hasAccess(AccessCandidate.agent('b1'), 'read', 'teams/team-a/models')).toBe(false);
      expect(await provider().hasAccess(AccessCandidate.agent('b1'), 'write', 'models')).toBe(false);
      expect(await provider().hasAccess(AccessCandidate.public(), 'read', 'models')).toBe(true);
      await expect(
        provider()
          .agent('a1')
          .addModels({ bad: { provider: 'x' } }),
      ).rejects.toThrow("invalid model entries (need a string modelId, provider a string): 'bad'");
    });
  });
});
