import { startBedrockPeer } from '../../../../../test/peers/bedrock';
import { expectAbortClosesUpstream, PERSON_SCHEMA, WEATHER_TOOL } from '../../../../../test/support/llm-chat-harness';
import type { AwsClientConfig } from '../../core/aws-client';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreInvalidInputError, SreRateLimitError } from '../../core/errors';
import { BedrockConnector } from './bedrock.connector';
import * as wire from './wire-connector.testkit';

const ctx = (aws?: AwsClientConfig) =>
  createConnectorContext<{ aws?: AwsClientConfig }>({
    subsystem: 'LLM',
    connector: 'Bedrock',
    deps: aws ? { aws } : {},
  });
const { peer, setup } = wire.describeWireConnector('Bedrock', {
  start: () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    return startBedrockPeer({ accessKeyIds: ['AKIA-A', 'AKIA-KIT'] });
  },
  connector: (aws?: AwsClientConfig) => new BedrockConnector({}, ctx(aws)),
  baseURL: (peer) => peer.endpoint,
  model: 'anthropic.claude-test',
  credentials: { accessKeyId: 'AKIA-A', secretAccessKey: 'secret' },
  base: {
    credentials: 'bedrock_vault',
    settings: { keyIDName: 'aws-id', secretKeyName: 'aws-secret', region: 'eu-west-1' },
    completionTokens: 800,
  },
  models: { claude: {}, thinker: { features: ['reasoning'] } },
  others: (peer) => ({
    'kit-keys': { modelId: 'amazon.nova-test', provider: 'Bedrock', credentials: 'internal', baseURL: peer.endpoint },
    gpt: wire.OPENAI_MODEL,
  }),
  vaults: {
    a: { 'aws-id': 'AKIA-A', 'aws-secret': 'secret' },
    bad: { 'aws-id': 'AKIA-WRONG', 'aws-secret': 'the-secret-value' },
  },
});

describe('Bedrock connector over the wire (Converse)', () => {
  it("chats with the caller's AWS keys, system prompt and inference config", async () => {
    const { service } = setup();
    await wire.expectBriefChat(service, 'a', 'claude', 'hi bedrock');
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
    await wire.expectThinkingStream(service, peer, 'pondering', 1024);
    expect(peer.requests.at(-1)!.body.additionalModelRequestFields).toEqual({
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { service } = setup();
    await wire.expectToolRoundTrip(service, peer, 'claude', {
      ids: ['tu_1', 'tu_2'],
      toolChoice: 'required',
      afterCall: () =>
        expect(peer.requests.at(-1)!.body.toolConfig).toMatchObject({
          toolChoice: { any: {} },
          tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: WEATHER_TOOL.parameters } } }],
        }),
    });
  });

  it('returns a parsed, schema-checked object (native outputConfig), and a clear error otherwise', async () => {
    const { service } = setup();
    await wire.expectStructuredOutput(service, peer, 'claude', {
      responseFormat: { type: 'json_schema', name: 'person', schema: PERSON_SCHEMA },
      invalid: '{"name":1,"age":2}',
      afterValid: () =>
        expect(peer.requests.at(-1)!.body.outputConfig).toEqual({
          textFormat: {
            type: 'json_schema',
            structure: { jsonSchema: { schema: JSON.stringify(PERSON_SCHEMA), name: 'person' } },
          },
        }),
    });
  });

  it('names the vault keys when they are missing or refused, never a value; refuses an OpenAI model', async () => {
    const { service } = setup();
    const missing = await wire.caught(service.team('nobody').chat({ model: 'claude', prompt: 'x' }));
    expect(missing).toBeInstanceOf(SreAuthError);
    expect(missing).toMatchObject({ vaultKey: 'aws-id' });
    expect((missing as Error).message).toContain("vault keys 'aws-id' and 'aws-secret'");
    const refused = await wire.caught(service.team('bad').chat({ model: 'claude', prompt: 'x' }));
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
    await wire.expectCutStreamError(service, peer, 'claude', 3);
  });

  it('stops the upstream request on abort mid-stream', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'claude', peer);
  });
});
