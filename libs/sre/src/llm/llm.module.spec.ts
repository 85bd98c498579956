import { EventEmitter } from 'node:events';
import { AccountService } from '../account/account.service';
import { SreAccessDeniedError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { ModelMap, ModelsProviderService, resolveModelInfo } from '../models-provider/models-provider.service';
import { AccessCandidate } from '../security/access-candidate';
import { describeSubsystemModule, globalValues } from '../testing/subsystem-module.testkit';
import { VaultService } from '../vault/vault.service';
import { InjectLLM } from './llm.decorators';
import { LLMModule } from './llm.module';
import { LLM_DEFINITION } from './llm.registry';
import {
  ChatResponse,
  ClientsByCredential,
  LLMProviderRequest,
  LLMService,
  resolveLLMCredentials,
  SecretReader,
} from './llm.service';

/** Answers with the last message (or the prompt); streams it word by word. Records every request. */
class EchoLLM extends LLMService {
  readonly seen: LLMProviderRequest[] = [];

  private text(request: LLMProviderRequest): string {
    const last = request.params.messages?.at(-1)?.content;
    return typeof last === 'string' ? last : (request.params.prompt ?? '');
  }

  protected async chatRequest(request: LLMProviderRequest): Promise<ChatResponse> {
    this.seen.push(request);
    if (this.text(request) === 'fail') throw new Error('provider failed');
    return { content: this.text(request), finishReason: 'stop' };
  }

  protected async streamChatRequest(request: LLMProviderRequest): Promise<EventEmitter> {
    this.seen.push(request);
    if (this.text(request) === 'fail') throw new Error('provider failed');
    const stream = new EventEmitter();
    const words = this.text(request).split(' ');
    setImmediate(() => {
      for (const word of words) stream.emit('content', word);
      stream.emit('end', [], [], 'stop');
    });
    return stream;
  }
}

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b', d1: 'team-denied', x1: 'team-broken' };
const VAULT: Record<string, Record<string, string>> = {
  'team-a': {
    openai: 'sk-team-a',
    'aws-id': 'AKIA',
    'aws-secret': 'shh',
    vertex: '{"project_id":"p"}',
    'bad-vertex': 'not json',
    api: 'k-a',
  },
  'team-b': { openai: 'sk-team-b' },
};
const vault: SecretReader = {
  requester: (candidate: AccessCandidate) => ({
    get: async (key: string) => {
      const team = candidate.role === 'team' ? candidate.id : TEAMS[candidate.id];
      if (team === 'team-denied') throw new SreAccessDeniedError();
      if (team === 'team-broken') throw new Error('vault backend down');
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
const modelsProvider = {
  requester: () => ({
    getModelInfo: async (model: string, hasKey?: boolean) => resolveModelInfo(MODELS, model, hasKey),
  }),
};

const fakeDeps = () =>
  globalValues(
    { provide: AccountService, useValue: { getCandidateTeam: async (c: AccessCandidate) => TEAMS[c.id] } },
    { provide: VaultService, useValue: vault },
    { provide: ModelsProviderService, useValue: modelsProvider },
  );

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
  const { useConnector } = describeSubsystemModule(LLM_DEFINITION, LLMModule, InjectLLM, {
    connector: EchoLLM,
    planned: [
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
    ],
    unknownName: 'Mistral',
  });

  describe('without Vault, ModelsProvider or Account', () => {
    const llm = useConnector();

    it('treats a name as its own model and leaves credentials empty', async () => {
      expect(await llm().agent('a1').request({ model: 'anything', prompt: 'hi' })).toEqual({
        content: 'hi',
        finishReason: 'stop',
      });
      expect(llm().seen[0].context).toMatchObject({
        modelEntryName: 'anything',
        credentials: {},
        isUserKey: false,
        teamId: undefined,
      });
    });
  });

  describe('resolveLLMCredentials', () => {
    const agent = AccessCandidate.agent('a1');
    const env = { OPENAI_API_KEY: 'sk-platform' };

    it('follows the modes of the original', async () => {
      expect(await resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'none' }, vault, env)).toEqual({
        apiKey: '',
      });
      expect(await resolveLLMCredentials(agent, { provider: 'OpenAI' }, vault, env)).toEqual({ apiKey: 'sk-platform' });
      expect(await resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'vault' }, vault, env)).toEqual({
        apiKey: 'sk-team-a',
        isUserKey: true,
      });
      expect(
        await resolveLLMCredentials(agent, { provider: 'Groq', credentials: ['vault', 'internal'] }, vault, env),
      ).toEqual({});
      expect(
        await resolveLLMCredentials(
          agent,
          { provider: 'OpenAI', credentials: { apiKey: '{{KEY(api)}}', nested: ['x-{{KEY(missing)}}'] } },
          vault,
          env,
        ),
      ).toEqual({
        apiKey: 'k-a',
        nested: ['x-'],
      });
      expect(
        await resolveLLMCredentials(
          agent,
          {
            provider: 'Bedrock',
            credentials: 'bedrock_vault',
            settings: { keyIDName: 'aws-id', secretKeyName: 'aws-secret', sessionKeyName: 'none' },
          },
          vault,
          env,
        ),
      ).toEqual({ accessKeyId: 'AKIA', secretAccessKey: 'shh', isUserKey: true });
      expect(
        await resolveLLMCredentials(
          agent,
          { provider: 'VertexAI', credentials: 'vertexai_vault', settings: { jsonCredentialsName: 'vertex' } },
          vault,
          env,
        ),
      ).toEqual({
        project_id: 'p',
        isUserKey: true,
      });
      expect(
        await resolveLLMCredentials(
          agent,
          { provider: 'VertexAI', credentials: ['vertexai_vault', 'none'], settings: {} },
          vault,
          env,
        ),
      ).toEqual({ apiKey: '' });
    });

    it('resolves per caller, treats a denial as no key and reports failures', async () => {
      expect(
        await resolveLLMCredentials(
          AccessCandidate.agent('b1'),
          { provider: 'OpenAI', credentials: 'vault' },
          vault,
          {},
        ),
      ).toEqual({ apiKey: 'sk-team-b', isUserKey: true });
      expect(
        await resolveLLMCredentials(
          AccessCandidate.agent('d1'),
          { provider: 'OpenAI', credentials: ['vault', 'internal'] },
          vault,
          { OPENAI_API_KEY: 'p' },
        ),
      ).toEqual({ apiKey: 'p' });
      await expect(
        resolveLLMCredentials(
          AccessCandidate.agent('x1'),
          { provider: 'OpenAI', credentials: ['vault', 'internal'] },
          vault,
          {},
        ),
      ).rejects.toThrow('vault backend down');
      await expect(
        resolveLLMCredentials(
          agent,
          { provider: 'VertexAI', credentials: 'vertexai_vault', settings: { jsonCredentialsName: 'bad-vertex' } },
          vault,
          {},
        ),
      ).rejects.toThrow("the VertexAI credentials in vault key 'bad-vertex' are not a JSON object");
      await expect(
        resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'keychain' as never }, vault, {}),
      ).rejects.toBeInstanceOf(SreInvalidInputError);
    });
  });

  it('keeps one SDK client per credential set', () => {
    const clients = new ClientsByCredential<{ key: string }>({ max: 2 });
    const a = clients.get({ apiKey: 'a', region: 'x' }, () => ({ key: 'a' }));
    expect(clients.get({ region: 'x', apiKey: 'a' }, () => ({ key: 'other' }))).toBe(a);
    expect(clients.get({ apiKey: 'b', region: 'x' }, () => ({ key: 'b' }))).not.toBe(a);
    expect(clients.size).toBe(2);
  });

  describe('requester', () => {
    // the `internal` mode reads the real environment: keep a developer's own key out of the expectations
    const platformKey = process.env.OPENAI_API_KEY;
    beforeAll(() => delete process.env.OPENAI_API_KEY);
    afterAll(() => {
      if (platformKey !== undefined) process.env.OPENAI_API_KEY = platformKey;
    });
    const llm = useConnector(fakeDeps());

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
      const [a, b, denied] = llm().seen.slice(-3);
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
        ['content', ['two']],
        ['end', [[], [], 'stop']],
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
