import { startAnthropicPeer, type AnthropicPeer } from '../../../../../test/peers/anthropic';
import {
  drain,
  expectAbortClosesUpstream,
  finishOf,
  llmServiceOver,
  PERSON_SCHEMA,
  textOf,
  WEATHER_TOOL,
} from '../../../../../test/support/llm-chat-harness';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreInvalidInputError, SreRateLimitError } from '../../core/errors';
import { describeLLMBackend } from '../../testing/llm.contract';
import { LLMStructuredOutputError } from '../llm-usage';
import { AnthropicConnector } from './anthropic.connector';

const ctx = () => createConnectorContext({ subsystem: 'LLM', connector: 'Anthropic' });
let peer: AnthropicPeer;
beforeAll(async () => {
  peer = await startAnthropicPeer({ apiKeys: ['ak-a', 'ak-b'] });
});
afterAll(() => peer.stop());

describeLLMBackend('Anthropic', () => new AnthropicConnector({}, ctx()), {
  model: 'claude-test-model',
  credentials: { apiKey: 'ak-a' },
  echoes: true,
  baseURL: () => peer.baseURL,
});

describe('Anthropic connector over the wire', () => {
  const setup = () =>
    llmServiceOver(
      new AnthropicConnector({}, ctx()),
      {
        claude: {
          modelId: 'claude-test-model',
          provider: 'Anthropic',
          credentials: 'vault',
          baseURL: peer.baseURL,
          completionTokens: 700,
        },
        thinker: {
          modelId: 'claude-test-model',
          provider: 'Anthropic',
          credentials: 'vault',
          baseURL: peer.baseURL,
          features: ['reasoning'],
        },
        gpt: { modelId: 'gpt-test', provider: 'OpenAI', credentials: 'vault' },
      },
      { a: { anthropic: 'ak-a' }, b: { anthropic: 'ak-b' }, bad: { anthropic: 'ak-wrong-value' } },
      'Anthropic',
    );

  it('chats with the system prompt apart, max_tokens set, the team key sent', async () => {
    const { service } = setup();
    const result = await service.team('b').chat({
      model: 'claude',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'hi claude' },
      ],
    });
    expect(result).toMatchObject({ content: 'hi claude', finishReason: 'stop', toolCalls: [] });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(peer.requests.at(-1)).toMatchObject({
      apiKey: 'ak-b',
      body: {
        system: 'Be brief',
        max_tokens: 700,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hi claude' }] }],
      },
    });
  });

  it('streams text and thinking deltas, ending with one finish', async () => {
    const { service } = setup();
    peer.enqueue({ thinking: 'let me see', content: 'one two three' });
    const events = await drain(
      service.team('a').stream({ model: 'thinker', prompt: 'x', params: { maxThinkingTokens: 1024 } }),
    );
    expect(textOf(events)).toBe('one two three');
    expect(events.filter((event) => event.type === 'thinking')).toEqual([{ type: 'thinking', delta: 'let me see' }]);
    expect(finishOf(events)).toMatchObject({ finishReason: 'stop', usage: { outputTokens: expect.any(Number) } });
    expect(peer.requests.at(-1)!.body).toMatchObject({
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { service } = setup();
    peer.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'toolu_1' }] });
    const first = await service
      .team('a')
      .chat({ model: 'claude', prompt: 'weather?', tools: [WEATHER_TOOL], toolChoice: 'required' });
    expect(first).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } }],
    });
    expect(peer.requests.at(-1)!.body).toMatchObject({
      tool_choice: { type: 'any' },
      tools: [{ name: 'get_weather', input_schema: WEATHER_TOOL.parameters }],
    });
    const final = await service.team('a').chat({
      model: 'claude',
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', toolCalls: first.toolCalls },
        { role: 'tool', toolCallId: 'toolu_1', content: 'sunny' },
      ],
    });
    expect(final).toMatchObject({ content: 'The tool answered: sunny', finishReason: 'stop' });
    expect((peer.requests.at(-1)!.body.messages as unknown[])[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
    });
    peer.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' }, id: 'toolu_2' }] });
    const streamed = finishOf(
      await drain(service.team('a').stream({ model: 'claude', prompt: 'Rome?', tools: [WEATHER_TOOL] })),
    );
    expect(streamed).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'toolu_2', name: 'get_weather', arguments: { city: 'Rome' } }],
    });
  });

  it('returns a parsed, schema-checked object, native output_config, and a clear error otherwise', async () => {
    const { service } = setup();
    const responseFormat = { type: 'json_schema' as const, schema: PERSON_SCHEMA };
    peer.enqueue({ content: '{"name":"Ada","age":36}' });
    expect((await service.team('a').chat({ model: 'claude', prompt: 'who?', responseFormat })).parsed).toEqual({
      name: 'Ada',
      age: 36,
    });
    expect(peer.requests.at(-1)!.body.output_config).toEqual({
      format: { type: 'json_schema', schema: PERSON_SCHEMA },
    });
    peer.enqueue({ content: 'Ada, 36' });
    await expect(service.team('a').chat({ model: 'claude', prompt: 'who?', responseFormat })).rejects.toBeInstanceOf(
      LLMStructuredOutputError,
    );
    peer.enqueue({ content: '```json\n{"name":"Bo","age":7}\n```' });
    const finish = finishOf(
      await drain(service.team('a').stream({ model: 'claude', prompt: 'x', responseFormat: { type: 'json' } })),
    );
    expect(finish.parsed).toEqual({ name: 'Bo', age: 7 });
    expect(String(peer.requests.at(-1)!.body.system)).toContain('JSON');
  });

  it('names the vault key on a missing or refused key, never the value', async () => {
    const { service } = setup();
    const missing = await service
      .team('nobody')
      .chat({ model: 'claude', prompt: 'x' })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(SreAuthError);
    expect(missing).toMatchObject({ vaultKey: 'anthropic' });
    const refused = finishOf(await drain(service.team('bad').stream({ model: 'claude', prompt: 'x' })));
    expect(refused.error).toBeInstanceOf(SreAuthError);
    expect(refused.error!.message).toContain("vault key 'anthropic'");
    expect(refused.error!.message).not.toContain('ak-wrong-value');
  });

  it('refuses an OpenAI model', async () => {
    const { service } = setup();
    await expect(service.team('a').chat({ model: 'gpt', prompt: 'x' })).rejects.toBeInstanceOf(SreInvalidInputError);
  });

  it('retries a 429 after its retry-after, gives up on a 500 that persists, ends a cut stream with an error', async () => {
    const { service } = setup();
    peer.enqueue({ error: { status: 429, retryAfterSeconds: 1 } });
    const started = Date.now();
    await expect(service.team('a').chat({ model: 'claude', prompt: 'later' })).resolves.toMatchObject({
      content: 'later',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    peer.enqueue({ error: { status: 429, retryAfterSeconds: 3 } });
    const limited = await service
      .team('a')
      .chat({ model: 'claude', prompt: 'x', maxRetries: 0 })
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(SreRateLimitError);
    expect((limited as SreRateLimitError).retryAfterMs).toBe(3000);
    peer.enqueue({ error: { status: 500 } }, { error: { status: 500 } }, { error: { status: 500 } });
    await expect(service.team('a').chat({ model: 'claude', prompt: 'x' })).rejects.toThrow('HTTP 500');
    peer.enqueue({ content: 'a b c d e f', cutAfterChunks: 4 });
    expect(finishOf(await drain(service.team('a').stream({ model: 'claude', prompt: 'x' }))).finishReason).toBe(
      'error',
    );
  });

  it('stops the upstream request on abort mid-stream', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'claude', peer);
  });
});
