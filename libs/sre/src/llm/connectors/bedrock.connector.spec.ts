import { startBedrockPeer, type BedrockPeer } from '../../../../../test/peers/bedrock';
import {
  drain,
  expectAbortClosesUpstream,
  finishOf,
  llmServiceOver,
  PERSON_SCHEMA,
  textOf,
  WEATHER_TOOL,
} from '../../../../../test/support/llm-chat-harness';
import type { AwsClientConfig } from '../../core/aws-client';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreInvalidInputError, SreRateLimitError } from '../../core/errors';
import { describeLLMBackend } from '../../testing/llm.contract';
import { LLMStructuredOutputError } from '../llm-usage';
import { BedrockConnector } from './bedrock.connector';

const ctx = (aws?: AwsClientConfig) =>
  createConnectorContext<{ aws?: AwsClientConfig }>({
    subsystem: 'LLM',
    connector: 'Bedrock',
    deps: aws ? { aws } : {},
  });
let peer: BedrockPeer;
beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  peer = await startBedrockPeer({ accessKeyIds: ['AKIA-A', 'AKIA-KIT'] });
});
afterAll(() => peer.stop());

describeLLMBackend('Bedrock', () => new BedrockConnector({}, ctx()), {
  model: 'anthropic.claude-test',
  credentials: { accessKeyId: 'AKIA-A', secretAccessKey: 'secret' },
  echoes: true,
  baseURL: () => peer.endpoint,
});

describe('Bedrock connector over the wire (Converse)', () => {
  const entry = () => ({
    modelId: 'anthropic.claude-test',
    provider: 'Bedrock',
    credentials: 'bedrock_vault' as const,
    baseURL: peer.endpoint,
    settings: { keyIDName: 'aws-id', secretKeyName: 'aws-secret', region: 'eu-west-1' },
    completionTokens: 800,
  });
  const setup = (aws?: AwsClientConfig) =>
    llmServiceOver(
      new BedrockConnector({}, ctx(aws)),
      {
        claude: entry(),
        thinker: { ...entry(), features: ['reasoning'] },
        'kit-keys': {
          modelId: 'amazon.nova-test',
          provider: 'Bedrock',
          credentials: 'internal',
          baseURL: peer.endpoint,
        },
        gpt: { modelId: 'gpt-test', provider: 'OpenAI', credentials: 'vault' },
      },
      {
        a: { 'aws-id': 'AKIA-A', 'aws-secret': 'secret' },
        bad: { 'aws-id': 'AKIA-WRONG', 'aws-secret': 'the-secret-value' },
      },
      'Bedrock',
    );

  it("chats with the caller's AWS keys, system prompt and inference config", async () => {
    const { service } = setup();
    const result = await service.team('a').chat({
      model: 'claude',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'hi bedrock' },
      ],
    });
    expect(result).toMatchObject({ content: 'hi bedrock', finishReason: 'stop', toolCalls: [] });
    expect(peer.requests.at(-1)).toMatchObject({
      path: '/model/anthropic.claude-test/converse',
      accessKeyId: 'AKIA-A',
      body: { system: [{ text: 'Be brief' }], inferenceConfig: { maxTokens: 800 } },
    });
  });

  it("falls back to the kit's AWS client config for models without keys of their own", async () => {
    const { service } = setup({
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIA-KIT', secretAccessKey: 's' },
    });
    expect((await service.team('a').chat({ model: 'kit-keys', prompt: 'kit' })).content).toBe('kit');
    expect(peer.requests.at(-1)!.accessKeyId).toBe('AKIA-KIT');
  });

  it('streams the event stream as typed events, ending with one finish', async () => {
    const { service } = setup();
    peer.enqueue({ thinking: 'pondering', content: 'one two three' });
    const events = await drain(
      service.team('a').stream({ model: 'thinker', prompt: 'x', params: { maxThinkingTokens: 1024 } }),
    );
    expect(textOf(events)).toBe('one two three');
    expect(events.filter((event) => event.type === 'thinking')).toEqual([{ type: 'thinking', delta: 'pondering' }]);
    expect(finishOf(events)).toMatchObject({ finishReason: 'stop', usage: { outputTokens: expect.any(Number) } });
    expect(peer.requests.at(-1)!.body.additionalModelRequestFields).toEqual({
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { service } = setup();
    peer.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'tu_1' }] });
    const first = await service
      .team('a')
      .chat({ model: 'claude', prompt: 'weather?', tools: [WEATHER_TOOL], toolChoice: 'required' });
    expect(first).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'tu_1', name: 'get_weather', arguments: { city: 'Paris' } }],
    });
    expect(peer.requests.at(-1)!.body.toolConfig).toMatchObject({
      toolChoice: { any: {} },
      tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: WEATHER_TOOL.parameters } } }],
    });
    const final = await service.team('a').chat({
      model: 'claude',
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', toolCalls: first.toolCalls },
        { role: 'tool', toolCallId: 'tu_1', content: 'sunny' },
      ],
    });
    expect(final).toMatchObject({ content: 'The tool answered: sunny', finishReason: 'stop' });
    peer.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' }, id: 'tu_2' }] });
    const streamed = finishOf(
      await drain(service.team('a').stream({ model: 'claude', prompt: 'Rome?', tools: [WEATHER_TOOL] })),
    );
    expect(streamed).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'tu_2', name: 'get_weather', arguments: { city: 'Rome' } }],
    });
  });

  it('returns a parsed, schema-checked object (native outputConfig), and a clear error otherwise', async () => {
    const { service } = setup();
    const responseFormat = { type: 'json_schema' as const, name: 'person', schema: PERSON_SCHEMA };
    peer.enqueue({ content: '{"name":"Ada","age":36}' });
    expect((await service.team('a').chat({ model: 'claude', prompt: 'who?', responseFormat })).parsed).toEqual({
      name: 'Ada',
      age: 36,
    });
    expect(peer.requests.at(-1)!.body.outputConfig).toEqual({
      textFormat: {
        type: 'json_schema',
        structure: { jsonSchema: { schema: JSON.stringify(PERSON_SCHEMA), name: 'person' } },
      },
    });
    peer.enqueue({ content: '{"name":1,"age":2}' });
    await expect(service.team('a').chat({ model: 'claude', prompt: 'who?', responseFormat })).rejects.toBeInstanceOf(
      LLMStructuredOutputError,
    );
  });

  it('names the vault keys when they are missing or refused, never a value; refuses an OpenAI model', async () => {
    const { service } = setup();
    const missing = await service
      .team('nobody')
      .chat({ model: 'claude', prompt: 'x' })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(SreAuthError);
    expect(missing).toMatchObject({ vaultKey: 'aws-id' });
    expect((missing as Error).message).toContain("vault keys 'aws-id' and 'aws-secret'");
    const refused = await service
      .team('bad')
      .chat({ model: 'claude', prompt: 'x' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SreAuthError);
    expect((refused as Error).message).not.toContain('the-secret-value');
    await expect(service.team('a').chat({ model: 'gpt', prompt: 'x' })).rejects.toBeInstanceOf(SreInvalidInputError);
  });

  it('retries a throttled call, reports one that persists, ends a cut stream with an error', async () => {
    const { service } = setup();
    peer.enqueue({ error: { status: 429 } });
    await expect(service.team('a').chat({ model: 'claude', prompt: 'later' })).resolves.toMatchObject({
      content: 'later',
    });
    peer.enqueue({ error: { status: 429 } });
    await expect(service.team('a').chat({ model: 'claude', prompt: 'x', maxRetries: 0 })).rejects.toBeInstanceOf(
      SreRateLimitError,
    );
    peer.enqueue({ content: 'a b c d e f', cutAfterChunks: 3 });
    expect(finishOf(await drain(service.team('a').stream({ model: 'claude', prompt: 'x' }))).finishReason).toBe(
      'error',
    );
  });

  it('stops the upstream request on abort mid-stream', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'claude', peer);
  });
});
