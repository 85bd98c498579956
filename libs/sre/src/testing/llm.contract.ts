import type { EventEmitter } from 'node:events';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import type { SecretReader } from '../llm/llm-credentials';
import type {
  FinishReason,
  LLMBackend,
  LLMCredentials,
  LLMPreparedParams,
  LLMProviderRequest,
  LLMStreamEvent,
} from '../llm/llm.backend';
import { LLMService } from '../llm/llm.service';
import type { ModelInfo, ModelMap } from '../models-provider/models-provider.backend';
import { ModelsProviderService } from '../models-provider/models-provider.service';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import { MemoryModelsProviderBackend } from './backends/memory-models-provider.backend';
import { useFreshBackend } from './contract-harness';

export interface LLMContractOptions {
  /** A provider-side model id the backend answers (default `echo`). */
  model?: string;
  /** Credentials the backend's calls carry (default `{ apiKey: '' }`). */
  credentials?: LLMCredentials;
  /** The backend answers with the prompt's text (an echo): content is then checked exactly. */
  echoes?: boolean;
  /** Per-test timeout in milliseconds (default Jest's). */
  timeout?: number;
  /** The model entry the backend operations see (default `{ modelId: model }`): a router needs its provider. */
  modelInfo?: ModelInfo;
  /** The provider's endpoint (a model entry's `baseURL`), read when each test runs (a peer's port). */
  baseURL?: () => string;
}

const FINISH_REASONS: readonly FinishReason[] = [
  'stop',
  'length',
  'content_filter',
  'tool_calls',
  'abort',
  'error',
  'unknown',
];

type Event = [name: string, args: unknown[]];

/** Collects a stream's events until `end`; rejects when `end` comes more than once. */
function collect(stream: EventEmitter, names = ['content', 'data', 'abort', 'error']): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const events: Event[] = [];
    for (const name of names) stream.on(name, (...args: unknown[]) => events.push([name, args]));
    stream.on('end', (...args: unknown[]) => {
      if (events.some(([name]) => name === 'end')) reject(new Error("'end' came twice"));
      events.push(['end', args]);
      // a late event after `end` would land here too: wait a few ticks before answering
      setTimeout(() => resolve(events), 20);
    });
  });
}

const namesOf = (events: Event[]) => events.map(([name]) => name);

const EVENT_TYPES = ['text', 'thinking', 'tool-call', 'usage', 'finish'];

async function drain(stream: AsyncIterable<LLMStreamEvent>): Promise<LLMStreamEvent[]> {
  const events: LLMStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const textOfEvents = (events: LLMStreamEvent[]) =>
  events.map((event) => (event.type === 'text' ? event.delta : '')).join('');
const endOf = (events: Event[]) => events.find(([name]) => name === 'end')![1];

// what the teams of the callers hold in their vaults
const TEAMS: Record<string, string> = {
  a1: 'team-a',
  a2: 'team-a',
  b1: 'team-b',
  d1: 'team-denied',
  x1: 'team-broken',
  bad1: '../evil',
};
const VAULTS: Record<string, Record<string, string>> = {
  'team-a': {
    openai: 'sk-team-a',
    groq: 'gsk-team-a',
    'aws-id': 'AKIA',
    'aws-secret': 'shh',
    vertex: '{"project_id":"p"}',
    api: 'k-a',
  },
  'team-b': { openai: 'sk-team-b' },
};

/**
 * The contract of an LLM backend, then the service's policy over it (model routing, limits,
 * credentials read as the caller, streams that end once): run it from every connector's spec,
 * e.g. `describeLLMBackend('OpenAI', () => new OpenAIConnector({}, ctx), { model: 'gpt-4o-mini',
 * credentials: { apiKey } })`. Each test gets a fresh backend from `makeBackend`, connected, and
 * disconnected after.
 */
export function describeLLMBackend(
  label: string,
  makeBackend: () => LLMBackend | Promise<LLMBackend>,
  options: LLMContractOptions = {},
): void {
  const { timeout, echoes = false } = options;
  const model = options.model ?? 'echo';
  const credentials = options.credentials ?? { apiKey: '' };

  /** A request as the service prepares it, for the backend operations. */
  const requestOf = (params: Partial<LLMPreparedParams>, abortSignal?: AbortSignal): LLMProviderRequest => ({
    abortSignal,
    params: {
      model,
      modelEntryName: model,
      maxTokens: 256,
      capabilities: { search: false, reasoning: false, imageGeneration: false },
      ...(options.baseURL ? { baseURL: options.baseURL() } : {}),
      ...params,
    },
    context: {
      modelEntryName: model,
      agentId: 'contract-agent',
      teamId: 'contract-team',
      isUserKey: false,
      hasFiles: false,
      modelInfo: options.modelInfo ?? { modelId: model },
      credentials,
    },
  });

  const MODELS: ModelMap = {
    'contract-main': {
      modelId: model,
      provider: 'OpenAI',
      tokens: 4000,
      completionTokens: 1000,
      keyOptions: { completionTokens: 8000 },
      credentials: ['vault', 'internal'],
      params: { temperature: 0.2 },
      features: ['text', 'search'],
    },
    'contract-groq': { modelId: model, provider: 'Groq', credentials: 'vault', baseURL: 'http://groq.local/v1' },
    'contract-alias': { modelId: 'not-this-one', alias: 'contract-main', tokens: 2000, completionTokens: 300 },
    'contract-free': { modelId: model, provider: 'Echo', credentials: 'none' },
    'contract-bedrock': {
      modelId: model,
      provider: 'Bedrock',
      credentials: 'bedrock_vault',
      settings: { keyIDName: 'aws-id', secretKeyName: 'aws-secret', sessionKeyName: 'aws-session' },
    },
    'contract-template': { modelId: model, provider: 'OpenAI', credentials: { apiKey: '{{KEY(api)}}' } },
  };

  describe(`${label} (LLM backend contract)`, () => {
    const { backend } = useFreshBackend(makeBackend, { timeout });

    describe('backend operations', () => {
      it(
        'answers a prompt and a conversation with text, a finish reason and usage',
        async () => {
          const byPrompt = await backend().chat(requestOf({ prompt: 'Say hello' }));
          const byMessages = await backend().chat(
            requestOf({
              messages: [
                { role: 'system', content: 'Be brief' },
                { role: 'user', content: 'Say hello' },
              ],
            }),
          );
          for (const response of [byPrompt, byMessages]) {
            expect(typeof response.content).toBe('string');
            expect(FINISH_REASONS).toContain(response.finishReason);
            expect(Array.isArray(response.toolCalls)).toBe(true);
            expect(typeof response.usage.inputTokens).toBe('number');
            expect(typeof response.usage.outputTokens).toBe('number');
          }
          if (echoes) expect([byPrompt.content, byMessages.content]).toEqual(['Say hello', 'Say hello']);
        },
        timeout,
      );

      it(
        'streams typed deltas whose text is the answer, then one finish event, last',
        async () => {
          const events = await drain(backend().stream(requestOf({ prompt: 'one two three' })));
          const finishes = events.filter((event) => event.type === 'finish');
          expect(finishes.length).toBeLessThanOrEqual(1);
          if (finishes.length) expect(events.at(-1)!.type).toBe('finish');
          for (const event of events) expect(EVENT_TYPES).toContain(event.type);
          const finish = finishes[0] as Extract<LLMStreamEvent, { type: 'finish' }> | undefined;
          if (finish) {
            expect(FINISH_REASONS).toContain(finish.finishReason);
            expect(finish.finishReason).not.toBe('error');
          }
          if (echoes) expect(textOfEvents(events)).toBe('one two three');
        },
        timeout,
      );

      it(
        'stops an aborted stream: it ends or throws soon after the abort',
        async () => {
          const controller = new AbortController();
          const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
          const seenAfterAbort: LLMStreamEvent[] = [];
          const outcome = await (async () => {
            for await (const event of backend().stream(requestOf({ prompt: words }, controller.signal))) {
              if (controller.signal.aborted) seenAfterAbort.push(event);
              if (event.type === 'text') controller.abort();
            }
            return 'ended';
          })().catch(() => 'threw');
          expect(['ended', 'threw']).toContain(outcome);
          // a few buffered events may still arrive, never the rest of the answer
          expect(seenAfterAbort.filter((event) => event.type === 'text').length).toBeLessThan(50);
        },
        timeout,
      );

      it(
        'refuses or ends at once a stream whose signal is already aborted',
        async () => {
          const controller = new AbortController();
          controller.abort();
          const outcome = await drain(backend().stream(requestOf({ prompt: 'never' }, controller.signal))).then(
            (events) => (events.some((event) => event.type === 'text') ? 'streamed' : 'ended'),
            (error: unknown) => (error !== undefined ? 'rejected' : 'not an Error'),
          );
          expect(['ended', 'rejected']).toContain(outcome);
        },
        timeout,
      );

      it(
        'keeps concurrent calls apart',
        async () => {
          const prompts = Array.from({ length: 10 }, (_, i) => `prompt number ${i}`);
          const answers = await Promise.all(prompts.map((prompt) => backend().chat(requestOf({ prompt }))));
          for (const answer of answers) expect(typeof answer.content).toBe('string');
          if (echoes) expect(answers.map((answer) => answer.content)).toEqual(prompts);
        },
        timeout,
      );

      it(
        'takes a large prompt',
        async () => {
          const prompt = 'x'.repeat(100_000);
          const answer = await backend().chat(requestOf({ prompt, maxTokens: 16 }));
          expect(typeof answer.content).toBe('string');
          if (echoes) expect(answer.content).toBe(prompt);
        },
        timeout,
      );

      it(
        'answers or rejects with an Error a request with nothing to answer, never hangs',
        async () => {
          const outcome = await backend()
            .chat(requestOf({}))
            .then(
              (answer) => typeof answer.content,
              (error: unknown) => (error instanceof Error ? 'rejected' : 'not an Error'),
            );
          expect(['string', 'rejected']).toContain(outcome);
        },
        timeout,
      );
    });

    describe('service policy', () => {
      let seen: LLMProviderRequest[];
      let vaultCalls: string[];
      let env: Record<string, string | undefined>;

      const vault: SecretReader = {
        requester: (candidate: AccessCandidate) => {
          vaultCalls.push(candidate.toString());
          return {
            get: async (key: string) => {
              const team = candidate.role === 'team' ? candidate.id : TEAMS[candidate.id];
              if (team === 'team-denied') throw new SreAccessDeniedError({ subsystem: 'Vault' });
              if (team === 'team-broken') throw new Error('vault backend down');
              return VAULTS[team]?.[key];
            },
          };
        },
      };
      const account: TeamResolver = {
        getCandidateTeam: async (candidate) => {
          if (candidate.id === 'throws') throw new Error('account down');
          return candidate.role === 'team' ? candidate.id : TEAMS[candidate.id];
        },
      };

      /** The service over the backend without its lifecycle, every prepared request recorded. */
      const serviceOver = (overrides: Partial<LLMBackend> = {}) => {
        // the backend answers with what it can take (the provider's model, endpoint and a key it
        // accepts); `seen` keeps what the service prepared, which is what these tests check
        const answerable = (request: LLMProviderRequest): LLMProviderRequest => ({
          ...request,
          params: { ...request.params, model, ...(options.baseURL ? { baseURL: options.baseURL() } : {}) },
          context: {
            ...request.context,
            credentials,
            ...(options.modelInfo ? { modelInfo: { ...request.context.modelInfo, ...options.modelInfo } } : {}),
          },
        });
        const view: LLMBackend = {
          chat: (request) => {
            seen.push(request);
            return backend().chat(answerable(request));
          },
          stream: (request) => {
            seen.push(request);
            return backend().stream(answerable(request));
          },
          ...(backend().imageGenerationRequest
            ? { imageGenerationRequest: (request) => backend().imageGenerationRequest!(request) }
            : {}),
          ...(backend().imageEditingRequest
            ? { imageEditingRequest: (request) => backend().imageEditingRequest!(request) }
            : {}),
          ...(backend().normaliseMessages
            ? { normaliseMessages: (messages) => backend().normaliseMessages!(messages) }
            : {}),
          ...overrides,
        };
        const context = createConnectorContext({ subsystem: 'LLM', connector: label });
        const modelsProvider = new ModelsProviderService(
          new MemoryModelsProviderBackend({ models: MODELS }),
          createConnectorContext({ subsystem: 'ModelsProvider', connector: 'MemoryModelsProvider' }),
          { account },
        );
        return { service: new LLMService(view, context, { account, vault, modelsProvider }), modelsProvider };
      };

      // the `internal` mode reads the real environment: each test sets what it expects
      const KEYS = ['OPENAI_API_KEY', 'GROQ_API_KEY'];
      beforeEach(() => {
        seen = [];
        vaultCalls = [];
        env = Object.fromEntries(KEYS.map((key) => [key, process.env[key]]));
        for (const key of KEYS) delete process.env[key];
      });
      afterEach(() => {
        for (const key of KEYS) {
          if (env[key] === undefined) delete process.env[key];
          else process.env[key] = env[key];
        }
      });

      it(
        "reads credentials as the caller, on every call, from the caller's own team (W38)",
        async () => {
          const { service } = serviceOver();
          const callers = ['a1', 'b1', 'a2', 'b1', 'a1', 'b1'];
          await Promise.all(callers.map((id) => service.agent(id).request({ model: 'contract-main', prompt: id })));
          expect(vaultCalls.sort()).toEqual(callers.map((id) => AccessCandidate.agent(id).toString()).sort());
          for (const request of seen) {
            const team = TEAMS[request.context.agentId];
            expect(request.context.credentials).toEqual({ apiKey: VAULTS[team].openai, isUserKey: true });
            expect(request.context.teamId).toBe(team);
          }
          expect(seen).toHaveLength(callers.length);
        },
        timeout,
      );

      it(
        "counts a vault's denial as no key, and fails the call on a vault outage",
        async () => {
          const { service } = serviceOver();
          process.env.OPENAI_API_KEY = 'sk-platform';
          await service.agent('d1').request({ model: 'contract-main', prompt: 'x' });
          expect(seen.at(-1)!.context).toMatchObject({ credentials: { apiKey: 'sk-platform' }, isUserKey: false });
          await service.agent('d1').request({ model: 'contract-groq', prompt: 'x' });
          expect(seen.at(-1)!.context.credentials).toEqual({});
          const before = seen.length;
          await expect(service.agent('x1').request({ model: 'contract-main', prompt: 'x' })).rejects.toThrow(
            'vault backend down',
          );
          const failed = await collect(
            await service.agent('x1').streamRequest({ model: 'contract-main', prompt: 'x' }),
          );
          expect(namesOf(failed)).toEqual(['error', 'end']);
          expect((failed[0][1][0] as Error).message).toContain('vault backend down');
          // an outage never falls back to the platform's key
          expect(seen.length).toBe(before);
        },
        timeout,
      );

      it(
        'resolves the credentials mode of each model: none, templates, AWS keys, the platform key',
        async () => {
          const { service } = serviceOver();
          await service.agent('a1').request({ model: 'contract-free', prompt: 'x' });
          await service.agent('a1').request({ model: 'contract-template', prompt: 'x' });
          await service.agent('a1').request({ model: 'contract-bedrock', prompt: 'x' });
          await service.agent('b1').request({ model: 'contract-template', prompt: 'x' });
          expect(seen.map((request) => request.context.credentials)).toEqual([
            { apiKey: '' },
            { apiKey: 'k-a' },
            { accessKeyId: 'AKIA', secretAccessKey: 'shh', isUserKey: true },
            { apiKey: '' },
          ]);
        },
        timeout,
      );

      it(
        "scopes every call to the caller's team as Account resolves it, and only to a valid team id",
        async () => {
          const { service } = serviceOver();
          const ask = (candidate: AccessCandidate) =>
            service.requester(candidate).request({ model: 'contract-free', prompt: 'x' });
          await ask(AccessCandidate.agent('a1'));
          await ask(AccessCandidate.team('team-b'));
          await ask(AccessCandidate.agent('bad1'));
          await ask(AccessCandidate.agent('throws'));
          await ask(AccessCandidate.public());
          await ask(AccessCandidate.user('nobody'));
          expect(seen.map((request) => [request.context.agentId, request.context.teamId])).toEqual([
            ['a1', 'team-a'],
            ['team-b', 'team-b'],
            ['bad1', undefined],
            ['throws', undefined],
            ['public', undefined],
            ['nobody', undefined],
          ]);
          for (const request of seen) expect(request).not.toHaveProperty('candidate');
        },
        timeout,
      );

      it(
        "routes each model to its provider's model id, URL and key, resolved as the caller",
        async () => {
          const { service, modelsProvider } = serviceOver();
          await modelsProvider.team('team-a').addModels({ 'contract-team-only': { modelId: model, provider: 'Groq' } });
          await service.agent('a1').request({ model: 'contract-groq', prompt: 'x' });
          await service.agent('a1').request({ model: 'contract-alias', prompt: 'x' });
          await service
            .agent('a1')
            .request({ model: { modelId: model, provider: 'Groq', credentials: 'vault' }, prompt: 'x' });
          await service.agent('a2').request({ model: 'contract-team-only', prompt: 'x', maxTokens: 10 });
          await service.agent('b1').request({ model: 'contract-team-only', prompt: 'x', maxTokens: 10 });
          const [groq, alias, direct, teamOnly, otherTeam] = seen;
          expect(groq.params).toMatchObject({
            model,
            modelEntryName: 'contract-groq',
            baseURL: 'http://groq.local/v1',
          });
          expect(groq.context.credentials).toEqual({ apiKey: 'gsk-team-a', isUserKey: true });
          expect(alias.params.model).toBe(model);
          expect(alias.context.modelInfo).toMatchObject({ provider: 'OpenAI', tokens: 2000 });
          expect(alias.context.credentials).toEqual({ apiKey: 'sk-team-a', isUserKey: true });
          expect(alias.params.maxTokens).toBe(8000);
          expect(direct.params.modelEntryName).toBe(model);
          expect(direct.context.credentials).toEqual({ apiKey: 'gsk-team-a', isUserKey: true });
          expect(teamOnly.context.modelInfo).toMatchObject({ provider: 'Groq' });
          // another team does not see the model: its name is taken as the provider's model id
          expect(otherTeam.context.modelInfo).toEqual({ modelId: 'contract-team-only' });
          expect(otherTeam.params.model).toBe('contract-team-only');
        },
        timeout,
      );

      it(
        "fills the model's defaults and clamps tokens to its limits, its key options with the caller's own key",
        async () => {
          const { service } = serviceOver();
          const files = [Buffer.from('f')];
          await service.agent('a1').request({
            model: 'contract-main',
            prompt: 'a',
            maxTokens: '50000' as unknown as number,
            stopSequences: 'x, y\nz',
            files,
          });
          await service
            .agent('d1')
            .request({ model: 'contract-main', prompt: 'b', maxTokens: 50_000, temperature: 0.9 });
          await service.agent('d1').request({ model: 'contract-main', prompt: 'c' });
          const [own, denied, unset] = seen;
          expect(own.context).toMatchObject({ isUserKey: true, hasFiles: true, modelEntryName: 'contract-main' });
          expect(own.params).toMatchObject({
            model,
            maxTokens: 8000,
            temperature: 0.2,
            stopSequences: ['x', 'y', 'z'],
            capabilities: { search: true, reasoning: false, imageGeneration: false },
          });
          expect(own.params.files).toBe(files);
          expect(denied.params).toMatchObject({ maxTokens: 1000, temperature: 0.9 });
          expect(unset.params.maxTokens).toBe(1000);
        },
        timeout,
      );

      it(
        'converts only numeric parameters, passes the abort on to the backend and refuses bad parameters',
        async () => {
          const { service } = serviceOver();
          const controller = new AbortController();
          await service.agent('a1').request({
            model: 'contract-free',
            prompt: '2024',
            topP: '0.5' as never,
            seed: 'abc' as never,
            abortSignal: controller.signal,
          });
          expect(seen[0].params).toMatchObject({ prompt: '2024', topP: 0.5, seed: 'abc' });
          expect(seen[0].params).not.toHaveProperty('abortSignal');
          // the backend gets the call's signal: the caller's abort reaches it while the call runs
          const during: boolean[] = [];
          const watching = serviceOver({
            chat: async (request) => {
              controller.abort();
              during.push(request.abortSignal?.aborted === true);
              return { content: '', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } };
            },
          }).service;
          await watching.agent('a1').request({ model: 'contract-free', prompt: 'x', abortSignal: controller.signal });
          expect(during).toEqual([true]);
          const bad = [
            { model: { provider: 'x' } },
            { model: '' },
            { model: 'contract-free', big: 10n },
            null,
            'prompt',
          ];
          for (const params of bad)
            await expect(service.agent('a1').request(params as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          expect(seen).toHaveLength(1);
        },
        timeout,
      );

      it(
        'turns stream failures and aborts into streams that end once',
        async () => {
          const { service } = serviceOver();
          const ok = await collect(
            await service.agent('a1').streamRequest({ model: 'contract-free', prompt: 'one two' }),
          );
          expect(namesOf(ok).at(-1)).toBe('end');
          expect(endOf(ok)[2]).not.toBe('error');
          const failing = serviceOver({
            stream: () => ({
              [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('provider failed')) }),
            }),
          }).service;
          const failed = await collect(
            await failing.agent('a1').streamRequest({ model: 'contract-free', prompt: 'x' }),
          );
          expect(namesOf(failed)).toEqual(['error', 'end']);
          expect(endOf(failed)).toEqual([[], [], 'error']);
          expect(failed[0][1][0]).toBeInstanceOf(SreBackendError);
          // nobody listens for 'error': the stream still ends, and nothing throws
          const unheard = await collect(await service.agent('a1').streamRequest({ model: '' }), ['content']);
          expect(namesOf(unheard)).toEqual(['end']);
          const before = seen.length;
          const controller = new AbortController();
          controller.abort();
          const aborted = await collect(
            await service
              .agent('a1')
              .streamRequest({ model: 'contract-free', prompt: 'x', abortSignal: controller.signal }),
          );
          expect(namesOf(aborted)).toEqual(['abort', 'end']);
          expect(endOf(aborted)).toEqual([[], [], 'abort']);
          // an aborted call never reaches the provider
          expect(seen.length).toBe(before);
        },
        timeout,
      );

      it(
        'wraps backend failures as errors naming the subsystem and connector',
        async () => {
          const { service } = serviceOver({ chat: () => Promise.reject(new Error('provider failed')) });
          const error = await service
            .agent('a1')
            .request({ model: 'contract-free', prompt: 'x' })
            .catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error).toMatchObject({ subsystem: 'LLM', connector: label });
          expect((error as Error).message).toContain('provider failed');
        },
        timeout,
      );

      it(
        'says when the provider has no image calls, and hands prepared requests to one that has',
        async () => {
          const without = serviceOver({ imageGenerationRequest: undefined, imageEditingRequest: undefined }).service;
          await expect(
            without.agent('a1').imageGenRequest({ model: 'contract-free', prompt: 'a cat' }),
          ).rejects.toThrow(SreUnavailableError);
          await expect(
            without.agent('a1').imageEditRequest({ model: 'contract-free', prompt: 'a cat' }),
          ).rejects.toThrow('does not edit images');
          const images: LLMProviderRequest[] = [];
          const drawing = serviceOver({
            imageGenerationRequest: async (request) => {
              images.push(request);
              return { url: 'generated' };
            },
            imageEditingRequest: async (request) => {
              images.push(request);
              return { url: 'edited' };
            },
          }).service;
          expect(await drawing.agent('a1').imageGenRequest({ model: 'contract-main', prompt: 'a cat' })).toEqual({
            url: 'generated',
          });
          expect(await drawing.agent('a1').imageEditRequest({ model: 'contract-main', prompt: 'a cat' })).toEqual({
            url: 'edited',
          });
          expect(images.map((request) => request.context.credentials.apiKey)).toEqual(['sk-team-a', 'sk-team-a']);
        },
        timeout,
      );

      it(
        "brings messages into the provider's shape when it says how",
        async () => {
          const { service } = serviceOver({
            normaliseMessages: (messages) => messages.filter((message) => message.role !== 'system'),
          });
          await service.agent('a1').request({
            model: 'contract-free',
            messages: [
              { role: 'system', content: 'rules' },
              { role: 'user', content: 'hi' },
            ],
          });
          expect(seen[0].params.messages).toEqual([{ role: 'user', content: 'hi' }]);
        },
        timeout,
      );

      it(
        'refuses work once closed',
        async () => {
          const { service } = serviceOver();
          await service.disconnect();
          await expect(service.agent('a1').request({ model: 'contract-free', prompt: 'x' })).rejects.toThrow(/shut/);
          const closed = await collect(
            await service.agent('a1').streamRequest({ model: 'contract-free', prompt: 'x' }),
          );
          expect(namesOf(closed)).toEqual(['error', 'end']);
          expect(seen).toEqual([]);
        },
        timeout,
      );
    });
  });
}
