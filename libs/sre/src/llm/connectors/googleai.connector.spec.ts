import { startGooglePeer, type GooglePeer } from '../../../../../test/peers/google';
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
import { GoogleAIConnector } from './googleai.connector';

const ctx = () => createConnectorContext({ subsystem: 'LLM', connector: 'GoogleAI' });
let peer: GooglePeer;
beforeAll(async () => {
  peer = await startGooglePeer({ apiKeys: ['gk-a', 'gk-b'] });
});
afterAll(() => peer.stop());

describeLLMBackend('GoogleAI', () => new GoogleAIConnector({}, ctx()), {
  model: 'gemini-test',
  credentials: { apiKey: 'gk-a' },
  echoes: true,
  baseURL: () => peer.baseURL,
});

describe('GoogleAI connector over the wire', () => {
  const setup = () =>
    llmServiceOver(
      new GoogleAIConnector({}, ctx()),
      {
        gemini: {
          modelId: 'gemini-test',
          provider: 'GoogleAI',
          credentials: 'vault',
          baseURL: peer.baseURL,
          completionTokens: 600,
        },
        thinker: {
          modelId: 'gemini-test',
          provider: 'GoogleAI',
          credentials: 'vault',
          baseURL: peer.baseURL,
          features: ['reasoning'],
        },
        gpt: { modelId: 'gpt-test', provider: 'OpenAI', credentials: 'vault' },
      },
      { a: { googleai: 'gk-a' }, b: { googleai: 'gk-b' }, bad: { googleai: 'gk-wrong-value' } },
      'GoogleAI',
    );

  it('chats with the system instruction apart and the team key sent', async () => {
    const { service } = setup();
    const result = await service.team('b').chat({
      model: 'gemini',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'hi gemini' },
      ],
    });
    expect(result).toMatchObject({ content: 'hi gemini', finishReason: 'stop', toolCalls: [] });
    expect(peer.requests.at(-1)).toMatchObject({
      path: '/v1beta/models/gemini-test:generateContent',
      apiKey: 'gk-b',
      body: {
        contents: [{ role: 'user', parts: [{ text: 'hi gemini' }] }],
        generationConfig: { maxOutputTokens: 600 },
      },
    });
    expect(JSON.stringify(peer.requests.at(-1)!.body.systemInstruction)).toContain('Be brief');
  });

  it('streams text and thought deltas, ending with one finish', async () => {
    const { service } = setup();
    peer.enqueue({ thinking: 'hmm', content: 'one two three' });
    const events = await drain(
      service.team('a').stream({ model: 'thinker', prompt: 'x', params: { maxThinkingTokens: 512 } }),
    );
    expect(textOf(events)).toBe('one two three');
    expect(events.filter((event) => event.type === 'thinking')).toEqual([{ type: 'thinking', delta: 'hmm' }]);
    expect(finishOf(events)).toMatchObject({ finishReason: 'stop', usage: { outputTokens: expect.any(Number) } });
    expect(peer.requests.at(-1)!.path).toBe('/v1beta/models/gemini-test:streamGenerateContent');
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { service } = setup();
    peer.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const first = await service.team('a').chat({ model: 'gemini', prompt: 'weather?', tools: [WEATHER_TOOL] });
    expect(first).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }],
    });
    const final = await service.team('a').chat({
      model: 'gemini',
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', toolCalls: first.toolCalls },
        { role: 'tool', toolCallId: first.toolCalls[0].id, content: 'sunny' },
      ],
    });
    expect(final).toMatchObject({ content: 'The tool answered: sunny', finishReason: 'stop' });
    const contents = peer.requests.at(-1)!.body.contents as { parts: Record<string, { name?: string }>[] }[];
    expect(contents[2].parts[0].functionResponse.name).toBe('get_weather');
    peer.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }] });
    const streamed = finishOf(
      await drain(service.team('a').stream({ model: 'gemini', prompt: 'Rome?', tools: [WEATHER_TOOL] })),
    );
    expect(streamed).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }],
    });
  });

  it('returns a parsed, schema-checked object (native responseJsonSchema), and a clear error otherwise', async () => {
    const { service } = setup();
    const responseFormat = { type: 'json_schema' as const, schema: PERSON_SCHEMA };
    peer.enqueue({ content: '{"name":"Ada","age":36}' });
    expect((await service.team('a').chat({ model: 'gemini', prompt: 'who?', responseFormat })).parsed).toEqual({
      name: 'Ada',
      age: 36,
    });
    expect(peer.requests.at(-1)!.body.generationConfig).toMatchObject({
      responseMimeType: 'application/json',
      responseJsonSchema: PERSON_SCHEMA,
    });
    peer.enqueue({ content: '{"name":"Ada"}' });
    await expect(service.team('a').chat({ model: 'gemini', prompt: 'who?', responseFormat })).rejects.toBeInstanceOf(
      LLMStructuredOutputError,
    );
  });

  it('names the vault key on a missing or refused key, never the value; refuses an OpenAI model', async () => {
    const { service } = setup();
    const missing = await service
      .team('nobody')
      .chat({ model: 'gemini', prompt: 'x' })
      .catch((error: unknown) => error);
    expect(missing).toMatchObject({ vaultKey: 'googleai' });
    const refused = await service
      .team('bad')
      .chat({ model: 'gemini', prompt: 'x' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SreAuthError);
    expect((refused as Error).message).toContain("vault key 'googleai'");
    expect((refused as Error).message).not.toContain('gk-wrong-value');
    await expect(service.team('a').chat({ model: 'gpt', prompt: 'x' })).rejects.toBeInstanceOf(SreInvalidInputError);
  });

  it("retries a 429 after RetryInfo's delay, reports it when out of retries, ends a cut stream with an error", async () => {
    const { service } = setup();
    peer.enqueue({ error: { status: 429, retryAfterSeconds: 1 } });
    const started = Date.now();
    await expect(service.team('a').chat({ model: 'gemini', prompt: 'later' })).resolves.toMatchObject({
      content: 'later',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    peer.enqueue({ error: { status: 429, retryAfterSeconds: 4 } });
    const limited = await service
      .team('a')
      .chat({ model: 'gemini', prompt: 'x', maxRetries: 0 })
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(SreRateLimitError);
    expect((limited as SreRateLimitError).retryAfterMs).toBe(4000);
    peer.enqueue({ content: 'a b c d e f', cutAfterChunks: 2 });
    expect(finishOf(await drain(service.team('a').stream({ model: 'gemini', prompt: 'x' }))).finishReason).toBe(
      'error',
    );
  });

  it('stops the upstream request on abort mid-stream', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'gemini', peer);
  });
});
