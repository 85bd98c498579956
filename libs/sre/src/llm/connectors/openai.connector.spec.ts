import { startOpenAIPeer } from '../../../../../test/peers/openai';
import {
  drain,
  eventually,
  expectAbortClosesUpstream,
  finishOf,
  PERSON_SCHEMA,
  textOf,
} from '../../../../../test/support/llm-chat-harness';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreInvalidInputError } from '../../core/errors';
import type { LLMUsageEvent } from '../llm-usage';
import { OpenAIConnector } from './openai.connector';
import * as wire from './wire-connector.testkit';

const ctx = (connector = 'OpenAI') => createConnectorContext({ subsystem: 'LLM', connector });
const { peer, setup } = wire.describeWireConnector('OpenAI', {
  start: () => startOpenAIPeer({ apiKeys: ['sk-a', 'sk-b', 'sk-env'] }),
  connector: () => new OpenAIConnector({}, ctx()),
  baseURL: (peer) => peer.baseURL,
  model: 'gpt-test',
  credentials: { apiKey: 'sk-a' },
  models: { gpt: { completionTokens: 500 }, 'gpt-responses': { interface: 'responses' } },
  others: () => ({ claude: { modelId: 'claude-test', provider: 'Anthropic', credentials: 'vault' } }),
  vaults: { a: { openai: 'sk-a' }, b: { 'openai:apiKey': 'sk-b' }, bad: { openai: 'sk-wrong-value' } },
});

describe('OpenAI connector over the wire', () => {
  it('chats, with content, finish reason and usage in one shape, and reports USAGE:LLM', async () => {
    const { service } = setup();
    const usage: LLMUsageEvent[] = [];
    service.onUsage((event) => usage.push(event));
    const result = await service.team('a').chat({ model: 'gpt', messages: [{ role: 'user', content: 'hello there' }] });
    expect(result).toMatchObject({ content: 'hello there', finishReason: 'stop', toolCalls: [] });
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(peer.requests.at(-1)).toMatchObject({ path: '/v1/chat/completions', apiKey: 'sk-a' });
    expect(peer.requests.at(-1)!.body).toMatchObject({ model: 'gpt-test', max_completion_tokens: 500 });
    expect(usage).toEqual([
      expect.objectContaining({ sourceId: 'llm:gpt', keySource: 'user-managed', agentId: 'a', teamId: 'a' }),
    ]);
  });

  it("uses each team's own key, the docs' 'openai:apiKey' spelling too (W38)", async () => {
    const { service } = setup();
    await service.team('b').chat({ model: 'gpt', prompt: 'x' });
    await service.team('a').chat({ model: 'gpt', prompt: 'y' });
    expect(peer.requests.slice(-2).map((request) => request.apiKey)).toEqual(['sk-b', 'sk-a']);
  });

  it('names the vault key, never a value, when the key is missing or refused', async () => {
    const { service } = setup();
    const missing = await wire.caught(service.team('nobody').chat({ model: 'gpt', prompt: 'x' }));
    expect(missing).toBeInstanceOf(SreAuthError);
    expect(missing).toMatchObject({ vaultKey: 'openai' });
    expect((missing as Error).message).toContain("vault key 'openai'");
    const refused = await wire.caught(service.team('bad').chat({ model: 'gpt', prompt: 'x' }));
    expect(refused).toBeInstanceOf(SreAuthError);
    expect((refused as Error).message).toContain('401');
    expect((refused as Error).message).not.toContain('sk-wrong-value');
  });

  it("never sends another provider's model to this connector", async () => {
    const { service } = setup();
    const before = peer.requests.length;
    await expect(service.team('a').chat({ model: 'claude', prompt: 'x' })).rejects.toBeInstanceOf(SreInvalidInputError);
    expect(peer.requests.length).toBe(before);
  });

  it('streams typed events ending with one finish, also as an Observable', async () => {
    const { service } = setup();
    const events = await drain(service.team('a').stream({ model: 'gpt', prompt: 'one two three' }));
    expect(textOf(events)).toBe('one two three');
    expect(finishOf(events)).toMatchObject({ finishReason: 'stop', usage: { outputTokens: expect.any(Number) } });
    expect(peer.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const viaRx: string[] = [];
    await new Promise<void>((resolve) =>
      service
        .team('a')
        .stream$({ model: 'gpt', prompt: 'four five' })
        .subscribe({ next: (event) => viaRx.push(event.type), complete: resolve }),
    );
    expect(viaRx.at(-1)).toBe('finish');
    expect(viaRx.filter((type) => type === 'text')).toHaveLength(2);
  });

  it.each(['gpt', 'gpt-responses'])('round-trips a tool call (%s), streamed and not', async (model) => {
    const { service } = setup();
    await wire.expectToolRoundTrip(service, peer, model, { ids: ['call_1', 'call_2'], prompt: 'weather in Paris?' });
  });

  it.each(['gpt', 'gpt-responses'])(
    'returns a parsed, schema-checked object (%s), and a clear error otherwise',
    async (model) => {
      const { service } = setup();
      const responseFormat = { type: 'json_schema' as const, name: 'person', schema: PERSON_SCHEMA };
      const bad = await wire.expectStructuredOutput(service, peer, model, {
        responseFormat,
        invalid: '{"name":"Ada","age":"old"}',
      });
      expect(bad.message).toContain('$.age: must be integer');
      peer.enqueue({ content: '{"name":"Bo","age":7}' });
      expect(finishOf(await drain(service.team('a').stream({ model, prompt: 'x', responseFormat }))).parsed).toEqual({
        name: 'Bo',
        age: 7,
      });
    },
  );

  it('sends the json_schema natively on Chat Completions, and web search on both call kinds (W40)', async () => {
    const { service } = setup();
    const responseFormat = { type: 'json_schema' as const, name: 'person', schema: PERSON_SCHEMA };
    peer.enqueue({ content: '{"name":"Ada","age":36}' });
    await service.team('a').chat({ model: 'gpt', prompt: 'x', responseFormat });
    expect(peer.requests.at(-1)!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'person', schema: PERSON_SCHEMA, strict: false },
    });
    const search = {
      model: {
        modelId: 'gpt-test',
        provider: 'OpenAI',
        features: ['search'],
        baseURL: peer.baseURL,
        credentials: 'vault' as const,
      },
      prompt: 'news',
      params: { useWebSearch: true },
    };
    await service.team('a').chat(search);
    await drain(service.team('a').stream(search));
    for (const request of peer.requests.slice(-2))
      expect(request.body.web_search_options).toEqual({ search_context_size: 'medium' });
  });

  it('retries a 429 after the advertised retry-after, and reports the delay when out of retries', async () => {
    const { service } = setup();
    await wire.expectRetryAfter(
      service,
      'gpt',
      (retryAfterSeconds) => peer.failNext(1, 429, retryAfterSeconds),
      2,
      'patience',
    );
  });

  it('retries a 500, and reports a 500 that persists as the terminal event of a stream', async () => {
    const { service } = setup();
    peer.failNext(1, 500);
    await expect(service.team('a').chat({ model: 'gpt', prompt: 'again' })).resolves.toMatchObject({
      content: 'again',
    });
    peer.failNext(3, 500);
    const finish = finishOf(await drain(service.team('a').stream({ model: 'gpt', prompt: 'x' })));
    expect(finish).toMatchObject({ finishReason: 'error' });
    expect(finish.error!.message).toContain('HTTP 500');
  });

  it('ends a stream cut in the middle with one error event', async () => {
    const { service } = setup();
    const events = await wire.expectCutStreamError(service, peer, 'gpt', 3, 'a b c d e f g h');
    expect(textOf(events)).not.toBe('a b c d e f g h');
  });

  it('stops the upstream request on abort mid-stream, and on a consumer that leaves', async () => {
    const { service } = setup();
    await expectAbortClosesUpstream(service, 'gpt', peer);
    const closed = peer.clientClosed;
    peer.enqueue({ content: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 10 });
    for await (const event of service.team('a').stream({ model: 'gpt', prompt: 'x' })) if (event.type === 'text') break;
    await eventually(() => peer.clientClosed === closed + 1);
  });

  it('times a slow call out as an error, not an abort', async () => {
    const { service } = setup();
    peer.enqueue({ content: Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 20 });
    const finish = finishOf(await drain(service.team('a').stream({ model: 'gpt', prompt: 'x', timeoutMs: 150 })));
    expect(finish.finishReason).toBe('error');
    expect(finish.error!.message).toContain('timed out after 150 ms');
  });
});
