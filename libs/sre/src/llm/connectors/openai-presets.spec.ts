import { startOpenAIPeer, type OpenAIPeer } from '../../../../../test/peers/openai';
import { llmServiceOver } from '../../../../../test/support/llm-chat-harness';
import { createConnectorContext } from '../../core/backend';
import { describeLLMBackend } from '../../testing/llm.contract';
import { OpenAIConnector, openAIConnectorFor } from './openai.connector';

const ctx = (connector: string) => createConnectorContext({ subsystem: 'LLM', connector });
let peer: OpenAIPeer;
beforeAll(async () => {
  peer = await startOpenAIPeer({ apiKeys: ['sk-a', 'sk-b'] });
});
afterAll(() => peer.stop());

// every preset is the OpenAI connector's code: the contract once more through one of them
describeLLMBackend('Groq (OpenAI preset)', () => new (openAIConnectorFor('Groq'))({}, ctx('Groq')), {
  model: 'llama-test',
  credentials: { apiKey: 'sk-a' },
  echoes: true,
  baseURL: () => peer.baseURL,
});

describe('OpenAI-compatible presets (the same connector)', () => {
  it.each([
    ['Groq', 'groq'],
    ['DeepSeek', 'deepseek'],
    ['TogetherAI', 'togetherai'],
    ['xAI', 'xai'],
    ['Perplexity', 'perplexity'],
  ] as const)('%s: its vault key, max_tokens, and its own models only', async (provider, key) => {
    const Preset = openAIConnectorFor(provider);
    expect(new Preset({}, ctx(provider))).toBeInstanceOf(OpenAIConnector);
    const { service } = llmServiceOver(
      new Preset({}, ctx(provider)),
      {
        m: { modelId: 'm-1', provider, credentials: 'vault', baseURL: peer.baseURL },
        other: { modelId: 'gpt-test', provider: 'OpenAI', credentials: 'vault', baseURL: peer.baseURL },
      },
      { a: { [key]: 'sk-a', openai: 'sk-b' } },
      provider,
    );
    expect(await service.team('a').chat({ model: 'm', prompt: 'hi' })).toMatchObject({ content: 'hi' });
    expect(peer.requests.at(-1)).toMatchObject({
      apiKey: 'sk-a',
      body: { model: 'm-1', max_tokens: expect.any(Number) },
    });
    await expect(service.team('a').chat({ model: 'other', prompt: 'x' })).rejects.toThrow(
      /belongs to provider 'OpenAI'/,
    );
  });

  it('Ollama: no key needed, the server origin as base URL', async () => {
    const open = await startOpenAIPeer({ apiKeys: ['*'] });
    try {
      const Ollama = openAIConnectorFor('Ollama');
      const { service } = llmServiceOver(
        new Ollama({}, ctx('Ollama')),
        {
          llama: {
            modelId: 'llama3',
            provider: 'Ollama',
            credentials: 'none',
            baseURL: open.baseURL.replace(/\/v1$/, ''),
          },
        },
        {},
        'Ollama',
      );
      expect(await service.team('a').chat({ model: 'llama', prompt: 'local' })).toMatchObject({ content: 'local' });
      expect(open.requests.at(-1)!.path).toBe('/v1/chat/completions');
    } finally {
      await open.stop();
    }
  });
});

describe('preset quirks', () => {
  const service = (provider: 'DeepSeek' | 'Perplexity' | 'xAI', features: string[] = []) =>
    llmServiceOver(
      new (openAIConnectorFor(provider))({}, ctx(provider)),
      { m: { modelId: 'm-1', provider, credentials: { apiKey: 'sk-a' }, baseURL: peer.baseURL, features } },
      {},
      provider,
    ).service;

  it('DeepSeek has no json_schema: JSON mode plus the schema as an instruction, then checked', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    peer.enqueue({ content: '{"n":3}' });
    const result = await service('DeepSeek')
      .team('a')
      .chat({ model: 'm', prompt: 'count', responseFormat: { type: 'json_schema', schema } });
    expect(result.parsed).toEqual({ n: 3 });
    const body = peer.requests.at(-1)!.body as {
      response_format: unknown;
      messages: { role: string; content: string }[];
    };
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.messages[0]).toMatchObject({
      role: 'system',
      content: expect.stringContaining(JSON.stringify(schema)),
    });
  });

  it('Perplexity takes no tools: a call with tools is refused, not sent without them', async () => {
    const before = peer.requests.length;
    const tool = { name: 't', parameters: { type: 'object', properties: {} } };
    await expect(
      service('Perplexity')
        .team('a')
        .chat({ model: 'm', prompt: 'x', tools: [tool] }),
    ).rejects.toThrow('takes no tools');
    expect(peer.requests.length).toBe(before);
  });

  it("xAI live search goes into both call kinds' bodies (W40)", async () => {
    const xai = service('xAI', ['search']);
    await xai.team('a').chat({ model: 'm', prompt: 'news', params: { useSearch: true, maxSearchResults: 5 } });
    for await (const event of xai.team('a').stream({ model: 'm', prompt: 'news', params: { useSearch: true } }))
      void event;
    const [chat, stream] = peer.requests.slice(-2).map((request) => request.body.search_parameters);
    expect(chat).toEqual({ mode: 'auto', return_citations: true, max_search_results: 5 });
    expect(stream).toEqual({ mode: 'auto', return_citations: true });
  });

  it('reports usage for streamed calls too', async () => {
    const xai = service('xAI');
    const usage: unknown[] = [];
    xai.onUsage((event) => usage.push(event));
    for await (const event of xai.team('a').stream({ model: 'm', prompt: 'count me' })) void event;
    expect(usage).toEqual([
      expect.objectContaining({ sourceId: 'llm:m', keySource: 'smyth-managed', output_tokens: 2 }),
    ]);
  });
});
