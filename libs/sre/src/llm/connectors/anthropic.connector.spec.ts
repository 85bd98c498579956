import { startAnthropicPeer } from '../../../../../test/peers/anthropic';
import {
  drain,
  expectAbortClosesUpstream,
  finishOf,
  PERSON_SCHEMA,
  WEATHER_TOOL,
} from '../../../../../test/support/llm-chat-harness';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreInvalidInputError } from '../../core/errors';
import { AnthropicConnector } from './anthropic.connector';
import * as wire from './wire-connector.testkit';

const ctx = () => createConnectorContext({ subsystem: 'LLM', connector: 'Anthropic' });
const { peer, setup } = wire.describeWireConnector('Anthropic', {
  start: () => startAnthropicPeer({ apiKeys: ['ak-a', 'ak-b'] }),
  connector: () => new AnthropicConnector({}, ctx()),
  baseURL: (peer) => peer.baseURL,
  model: 'claude-test-model',
  credentials: { apiKey: 'ak-a' },
  models: { claude: { completionTokens: 700 }, thinker: { features: ['reasoning'] } },
  vaults: wire.keysByTeam('anthropic', { a: 'ak-a', b: 'ak-b', bad: 'ak-wrong-value' }),
});

describe('Anthropic connector over the wire', () => {
  it('chats with the system prompt apart, max_tokens set, the team key sent', async () => {
    const { service } = setup();
    const result = await wire.expectBriefChat(service, 'b', 'claude', 'hi claude');
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
    await wire.expectThinkingStream(service, peer, 'let me see', 1024);
    expect(peer.requests.at(-1)!.body).toMatchObject({
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { service } = setup();
    await wire.expectToolRoundTrip(service, peer, 'claude', {
      ids: ['toolu_1', 'toolu_2'],
      toolChoice: 'required',
      afterCall: () =>
        expect(peer.requests.at(-1)!.body).toMatchObject({
          tool_choice: { type: 'any' },
          tools: [{ name: 'get_weather', input_schema: WEATHER_TOOL.parameters }],
        }),
      afterAnswer: () =>
        expect((peer.requests.at(-1)!.body.messages as unknown[])[1]).toEqual({
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
        }),
    });
  });

  it('returns a parsed, schema-checked object, native output_config, and a clear error otherwise', async () => {
    const { service } = setup();
    await wire.expectStructuredOutput(service, peer, 'claude', {
      responseFormat: { type: 'json_schema', schema: PERSON_SCHEMA },
      invalid: 'Ada, 36',
      afterValid: () =>
        expect(peer.requests.at(-1)!.body.output_config).toEqual({
          format: { type: 'json_schema', schema: PERSON_SCHEMA },
        }),
    });
    peer.enqueue({ content: '```json\n{"name":"Bo","age":7}\n```' });
    const finish = finishOf(
      await drain(service.team('a').stream({ model: 'claude', prompt: 'x', responseFormat: { type: 'json' } })),
    );
    expect(finish.parsed).toEqual({ name: 'Bo', age: 7 });
    expect(String(peer.requests.at(-1)!.body.system)).toContain('JSON');
  });

  it('names the vault key on a missing or refused key, never the value', async () => {
    const { service } = setup();
    const missing = await wire.caught(service.team('nobody').chat({ model: 'claude', prompt: 'x' }));
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
    await wire.expectRetryAfter(
      service,
      'claude',
      (retryAfterSeconds) => peer.enqueue({ error: { status: 429, retryAfterSeconds } }),
      3,
    );
    peer.enqueue({ error: { status: 500 } }, { error: { status: 500 } }, { error: { status: 500 } });
    await expect(service.team('a').chat({ model: 'claude', prompt: 'x' })).rejects.toThrow('HTTP 500');
    await wire.expectCutStreamError(service, peer, 'claude', 4);
  });

  it('stops the upstream request on abort mid-stream', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'claude', peer);
  });
});
