import { Test } from '@nestjs/testing';
import { EventEmitter } from 'node:events';
import { AccountService } from '../account/account.service';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreConfigError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { ModelMap, ModelsProviderService } from '../models-provider/models-provider.service';
import { AccessCandidate } from '../security/access-candidate';
import { MemoryLLMBackend } from '../testing/backends/memory-llm.backend';
import { MemoryModelsProviderBackend } from '../testing/backends/memory-models-provider.backend';
import { backendOf, describeSubsystemModule, globalValues } from '../testing/subsystem-module.testkit';
import { VaultService } from '../vault/vault.service';
import type { SecretReader } from './llm-credentials';
import { InjectLLM, LLM, LLM_CONNECTORS, LLMModule } from './llm.module';
import { LLMService } from './llm.service';

/** Echoes, and fails on 'fail': a user's own connector class. */
class EchoLLM extends MemoryLLMBackend {
  constructor() {
    super({ failOn: 'fail' });
  }
}

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b', d1: 'team-denied' };
const VAULT: Record<string, Record<string, string>> = {
  'team-a': { openai: 'sk-team-a' },
  'team-b': { openai: 'sk-team-b' },
};
const vault: SecretReader = {
  requester: (candidate: AccessCandidate) => ({
    get: async (key: string) => {
      const team = candidate.role === 'team' ? candidate.id : TEAMS[candidate.id];
      if (team === 'team-denied') throw new SreAccessDeniedError();
      return VAULT[team]?.[key];
    },
  }),
};
const MODELS: ModelMap = {
  'gpt-4o': {
    modelId: 'gpt-4o',
    provider: 'OpenAI',
    tokens: 4000,
    completionTokens: 1000,
    keyOptions: { completionTokens: 8000 },
    credentials: ['vault', 'internal'],
    params: { temperature: 0.2 },
    features: ['text', 'search'],
  },
  echo: { modelId: 'echo', provider: 'Echo', credentials: 'none' },
};
const account = { getCandidateTeam: async (candidate: AccessCandidate) => TEAMS[candidate.id] };
const modelsProvider = new ModelsProviderService(
  new MemoryModelsProviderBackend({ models: MODELS }),
  createConnectorContext({ subsystem: 'ModelsProvider', connector: 'MemoryModelsProvider' }),
  { account },
);

const ACCOUNT_VALUE = { provide: AccountService, useValue: account };
const VAULT_VALUE = { provide: VaultService, useValue: vault };
const MODELS_VALUE = { provide: ModelsProviderService, useValue: modelsProvider };
const deps = globalValues(ACCOUNT_VALUE, VAULT_VALUE, MODELS_VALUE);

/** Collects a stream's events until `end`. */
function collect(stream: EventEmitter, listenForError = true): Promise<[string, unknown[]][]> {
  return new Promise((resolve) => {
    const events: [string, unknown[]][] = [];
    for (const name of ['content', 'abort', ...(listenForError ? ['error'] : [])])
      stream.on(name, (...args) => events.push([name, args]));
    stream.on('end', (...args) => resolve([...events, ['end', args]]));
  });
}

describe('LLMModule', () => {
  // in the registry's order
  const AVAILABLE = [
    'ProviderRouter',
    'Echo',
    'OpenAI',
    'DeepSeek',
    'GoogleAI',
    'Anthropic',
    'Groq',
    'TogetherAI',
    'Bedrock',
    'xAI',
    'Perplexity',
    'Ollama',
  ];
  const PLANNED = ['VertexAI'];
  const { useConnector } = describeSubsystemModule<EchoLLM, LLMService>(LLM, LLMModule, InjectLLM, {
    connector: EchoLLM,
    // the three subsystems LLM requires, beside every boot of the shared suite
    imports: [deps],
    planned: PLANNED,
    available: AVAILABLE,
    unknownName: 'Mistral',
  });

  it('plans each provider with the SDK it will need', () => {
    const sdkOf = (name: string) => LLM_CONNECTORS.entry(name)?.sdk?.map((sdk) => `${sdk.package}@${sdk.range}`);
    expect(Object.fromEntries([...AVAILABLE, ...PLANNED].map((name) => [name, sdkOf(name)]))).toEqual({
      ProviderRouter: undefined,
      Echo: undefined,
      OpenAI: ['openai@^6'],
      DeepSeek: ['openai@^6'],
      GoogleAI: ['@google/genai@^2'],
      Anthropic: ['@anthropic-ai/sdk@^1'],
      Groq: ['openai@^6'],
      TogetherAI: ['openai@^6'],
      Bedrock: ['@aws-sdk/client-bedrock-runtime@^3'],
      VertexAI: ['@google/genai@^2'],
      xAI: ['openai@^6'],
      Perplexity: ['openai@^6'],
      Ollama: ['openai@^6'],
    });
  });

  it.each([
    ['Account', "the Account subsystem (the caller's team)", [VAULT_VALUE, MODELS_VALUE]],
    ['Vault', "the Vault subsystem (the callers' API keys)", [ACCOUNT_VALUE, MODELS_VALUE]],
    ['ModelsProvider', 'the ModelsProvider subsystem (model resolution and limits)', [ACCOUNT_VALUE, VAULT_VALUE]],
  ])('refuses to boot without %s, saying what it is for', async (_name, what, present) => {
    const error = await Test.createTestingModule({
      imports: [globalValues(...present), LLMModule.forRoot({ connector: EchoLLM })],
    })
      .compile()
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain(`needs ${what}, which this application does not provide`);
  });

  describe('requester', () => {
    // the `internal` mode reads the real environment: keep a developer's own key out of the expectations
    const platformKey = process.env.OPENAI_API_KEY;
    beforeAll(() => delete process.env.OPENAI_API_KEY);
    afterAll(() => {
      if (platformKey !== undefined) process.env.OPENAI_API_KEY = platformKey;
    });
    const llm = useConnector();
    const seen = () => backendOf<EchoLLM>(llm()).requests;

    it('is the service over the connector class', () => {
      expect(llm()).toBeInstanceOf(LLMService);
      expect(backendOf(llm())).toBeInstanceOf(EchoLLM);
    });

    it('treats an unknown name as its own model id, and finds no key for it', async () => {
      expect(await llm().agent('a1').request({ model: 'anything', prompt: 'hi' })).toMatchObject({
        content: 'hi',
        finishReason: 'stop',
        toolsData: [],
      });
      expect(seen().at(-1)!.context).toMatchObject({
        modelEntryName: 'anything',
        modelInfo: { modelId: 'anything' },
        credentials: {},
        isUserKey: false,
        teamId: 'team-a',
      });
    });

    it("prepares every call for its caller: model, defaults, the caller's own key and its limits", async () => {
      await llm()
        .agent('a1')
        .request({
          model: 'gpt-4o',
          prompt: 'a',
          maxTokens: '50000' as unknown as number,
          stopSequences: 'x, y\nz',
          files: [Buffer.from('f')],
        });
      await llm().agent('b1').request({ model: 'gpt-4o', prompt: '2024' });
      await llm().agent('d1').request({ model: 'gpt-4o', prompt: 'b', maxTokens: 50_000 });
      const [a, b, denied] = seen().slice(-3);
      expect(a.context).toMatchObject({
        agentId: 'a1',
        teamId: 'team-a',
        isUserKey: true,
        credentials: { apiKey: 'sk-team-a' },
        hasFiles: true,
        modelEntryName: 'gpt-4o',
      });
      expect(a.params).toMatchObject({
        model: 'gpt-4o',
        maxTokens: 8000,
        temperature: 0.2,
        stopSequences: ['x', 'y', 'z'],
        capabilities: { search: true, reasoning: false },
      });
      expect(Buffer.isBuffer(a.params.files![0])).toBe(true);
      expect(b.context.credentials).toEqual({ apiKey: 'sk-team-b', isUserKey: true });
      expect(b.params.prompt).toBe('2024');
      expect(denied.context).toMatchObject({ isUserKey: false, credentials: {} });
      expect(denied.params.maxTokens).toBe(1000);
    });

    it('streams, and turns failures and aborts into streams that end once', async () => {
      expect(await collect(await llm().agent('a1').streamRequest({ model: 'echo', prompt: 'one two' }))).toEqual([
        ['content', ['one']],
        ['content', [' two']],
        ['end', [[], [{ inputTokens: 2, outputTokens: 2 }], 'stop']],
      ]);
      const failed = await collect(await llm().agent('a1').streamRequest({ model: 'echo', prompt: 'fail' }));
      expect(failed.map(([name]) => name)).toEqual(['error', 'end']);
      expect(failed[1][1]).toEqual([[], [], 'error']);
      expect(
        (await collect(await llm().agent('a1').streamRequest({ model: '' }), false)).map(([name]) => name),
      ).toEqual(['end']);
      const controller = new AbortController();
      controller.abort();
      const aborted = await collect(
        await llm().agent('a1').streamRequest({ model: 'echo', prompt: 'x', abortSignal: controller.signal }),
      );
      expect(aborted.map(([name]) => name)).toEqual(['abort', 'end']);
      expect(aborted[1][1]).toEqual([[], [], 'abort']);
    });

    it('rejects bad parameters and unsupported image calls', async () => {
      await expect(llm().agent('a1').request({ model: 'echo', prompt: 'fail' })).rejects.toThrow('provider failed');
      await expect(
        llm()
          .agent('a1')
          .request({ model: { provider: 'x' } as never }),
      ).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(
        llm()
          .agent('a1')
          .request({ model: 'echo', big: 10n } as never),
      ).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(llm().agent('a1').imageGenRequest({ model: 'echo', prompt: 'a cat' })).rejects.toBeInstanceOf(
        SreUnavailableError,
      );
      await expect(llm().agent('a1').imageEditRequest({ model: 'echo', prompt: 'a cat' })).rejects.toThrow(
        'does not edit images',
      );
    });
  });
});
