import { startAnthropicPeer, type AnthropicPeer } from '../../../../../test/peers/anthropic';
import { startOpenAIPeer, type OpenAIPeer } from '../../../../../test/peers/openai';
import { drain, finishOf, llmServiceOver, textOf } from '../../../../../test/support/llm-chat-harness';
import { createConnectorContext } from '../../core/backend';
import { SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import type { ModelMap } from '../../models-provider/models-provider.backend';
import { describeLLMBackend } from '../../testing/llm.contract';
import { ProviderRouterConnector } from './provider-router.connector';

const ctx = () => createConnectorContext({ subsystem: 'LLM', connector: 'ProviderRouter' });

// the contract's own models are Echo, OpenAI, Groq and Bedrock entries: routed only to Echo here
describeLLMBackend('ProviderRouter', () => new ProviderRouterConnector({ providers: ['Echo'] }, ctx()), {
  echoes: true,
  modelInfo: { modelId: 'echo', provider: 'Echo' },
});

describe('ProviderRouter: one LLMService, each model to its provider', () => {
  let openai: OpenAIPeer;
  let anthropic: AnthropicPeer;
  let models: ModelMap;
  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([
      startOpenAIPeer({ apiKeys: ['sk-a'] }),
      startAnthropicPeer({ apiKeys: ['ak-a'] }),
    ]);
    models = {
      echo: { modelId: 'echo', provider: 'Echo', credentials: 'none' },
      gpt: { modelId: 'gpt-test', provider: 'OpenAI', credentials: 'vault', baseURL: openai.baseURL },
      claude: { modelId: 'claude-test-model', provider: 'anthropic', credentials: 'vault', baseURL: anthropic.baseURL },
      groq: { modelId: 'llama', provider: 'Groq', credentials: 'vault', baseURL: openai.baseURL },
      mystery: { modelId: 'm', provider: 'Mistral' },
    };
  });
  afterAll(() => Promise.all([openai.stop(), anthropic.stop()]));

  const setup = (providers?: string[]) =>
    llmServiceOver(
      new ProviderRouterConnector({ providers }, ctx()),
      models,
      {
        a: { openai: 'sk-a', anthropic: 'ak-a', groq: 'sk-a' },
      },
      'ProviderRouter',
    );

  it('routes by the model entry provider (case-insensitive), chat and stream', async () => {
    const { service } = setup();
    const before = { openai: openai.requests.length, anthropic: anthropic.requests.length };
    expect((await service.team('a').chat({ model: 'echo', prompt: 'e' })).content).toBe('e');
    expect((await service.team('a').chat({ model: 'gpt', prompt: 'o' })).content).toBe('o');
    expect((await service.team('a').chat({ model: 'claude', prompt: 'c' })).content).toBe('c');
    expect(textOf(await drain(service.team('a').stream({ model: 'claude', prompt: 'c d' })))).toBe('c d');
    expect((await service.team('a').chat({ model: 'groq', prompt: 'g' })).content).toBe('g');
    expect(openai.requests.slice(before.openai).map((request) => request.body.model)).toEqual(['gpt-test', 'llama']);
    expect(anthropic.requests.slice(before.anthropic).map((request) => request.body.model)).toEqual([
      'claude-test-model',
      'claude-test-model',
    ]);
  });

  it('refuses a provider it does not route to, an unknown provider and a model not in the list', async () => {
    const { service } = setup(['Echo', 'OpenAI']);
    const before = anthropic.requests.length;
    await expect(service.team('a').chat({ model: 'claude', prompt: 'x' })).rejects.toThrow(
      "no LLM connector for provider 'anthropic'",
    );
    expect(anthropic.requests.length).toBe(before);
    await expect(service.team('a').chat({ model: 'mystery', prompt: 'x' })).rejects.toBeInstanceOf(SreUnavailableError);
    await expect(service.team('a').chat({ model: 'nope', prompt: 'x' })).rejects.toBeInstanceOf(SreInvalidInputError);
    expect(finishOf(await drain(service.team('a').stream({ model: 'nope', prompt: 'x' }))).finishReason).toBe('error');
  });
});
