import { startGooglePeer } from '../../../../../test/peers/google';
import { expectAbortClosesUpstream, PERSON_SCHEMA } from '../../../../../test/support/llm-chat-harness';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreInvalidInputError } from '../../core/errors';
import { GoogleAIConnector } from './googleai.connector';
import * as wire from './wire-connector.testkit';

const ctx = () => createConnectorContext({ subsystem: 'LLM', connector: 'GoogleAI' });
const { peer, setup } = wire.describeWireConnector('GoogleAI', {
  start: () => startGooglePeer({ apiKeys: ['gk-a', 'gk-b'] }),
  connector: () => new GoogleAIConnector({}, ctx()),
  baseURL: (peer) => peer.baseURL,
  model: 'gemini-test',
  credentials: { apiKey: 'gk-a' },
  models: { gemini: { completionTokens: 600 }, thinker: { features: ['reasoning'] } },
  vaults: wire.keysByTeam('googleai', { a: 'gk-a', b: 'gk-b', bad: 'gk-wrong-value' }),
});

describe('GoogleAI connector over the wire', () => {
  it('chats with the system instruction apart and the team key sent', async () => {
    const { service } = setup();
    await wire.expectBriefChat(service, 'b', 'gemini', 'hi gemini');
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
    await wire.expectThinkingStream(service, peer, 'hmm', 512);
    expect(peer.requests.at(-1)!.path).toBe('/v1beta/models/gemini-test:streamGenerateContent');
  });

  it('round-trips a tool call, streamed and not', async () => {
    const { service } = setup();
    await wire.expectToolRoundTrip(service, peer, 'gemini', {
      afterAnswer: () => {
        const contents = peer.requests.at(-1)!.body.contents as { parts: Record<string, { name?: string }>[] }[];
        expect(contents[2].parts[0].functionResponse.name).toBe('get_weather');
      },
    });
  });

  it('returns a parsed, schema-checked object (native responseJsonSchema), and a clear error otherwise', async () => {
    const { service } = setup();
    await wire.expectStructuredOutput(service, peer, 'gemini', {
      responseFormat: { type: 'json_schema', schema: PERSON_SCHEMA },
      invalid: '{"name":"Ada"}',
      afterValid: () =>
        expect(peer.requests.at(-1)!.body.generationConfig).toMatchObject({
          responseMimeType: 'application/json',
          responseJsonSchema: PERSON_SCHEMA,
        }),
    });
  });

  it('names the vault key on a missing or refused key, never the value; refuses an OpenAI model', async () => {
    const { service } = setup();
    const missing = await wire.caught(service.team('nobody').chat({ model: 'gemini', prompt: 'x' }));
    expect(missing).toMatchObject({ vaultKey: 'googleai' });
    const refused = await wire.caught(service.team('bad').chat({ model: 'gemini', prompt: 'x' }));
    expect(refused).toBeInstanceOf(SreAuthError);
    expect((refused as Error).message).toContain("vault key 'googleai'");
    expect((refused as Error).message).not.toContain('gk-wrong-value');
    await expect(service.team('a').chat({ model: 'gpt', prompt: 'x' })).rejects.toBeInstanceOf(SreInvalidInputError);
  });

  it("retries a 429 after RetryInfo's delay, reports it when out of retries, ends a cut stream with an error", async () => {
    const { service } = setup();
    await wire.expectRetryAfter(
      service,
      'gemini',
      (retryAfterSeconds) => peer.enqueue({ error: { status: 429, retryAfterSeconds } }),
      4,
    );
    await wire.expectCutStreamError(service, peer, 'gemini', 2);
  });

  it('stops the upstream request on abort mid-stream', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'gemini', peer);
  });
});
