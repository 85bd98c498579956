import { drain, finishOf, llmServiceOver, textOf } from '../../../../../test/support/llm-chat-harness';
import { BUILTIN_MODELS } from '../../models-provider/connectors/json-models-provider.connector';
import { describeLLMBackend } from '../../testing/llm.contract';
import { EchoConnector } from './echo.connector';

describeLLMBackend('Echo', () => new EchoConnector(), { echoes: true });

describe('Echo connector', () => {
  const { service } = llmServiceOver(new EchoConnector(), { ...BUILTIN_MODELS }, {}, 'Echo');

  it('answers the built-in echo model with no key, in one shape, streamed word by word', async () => {
    expect(
      await service.team('t').chat({ model: 'echo', messages: [{ role: 'user', content: 'hello world' }] }),
    ).toEqual({
      content: 'hello world',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 3 },
    });
    const events = await drain(service.team('t').stream({ model: 'echo', prompt: 'a b c' }));
    expect(events.filter((event) => event.type === 'text').map((event) => (event as { delta: string }).delta)).toEqual([
      'a',
      ' b',
      ' c',
    ]);
    expect(textOf(events)).toBe('a b c');
    expect(finishOf(events)).toMatchObject({ finishReason: 'stop', toolCalls: [] });
  });

  it('gives structured output when the echoed text is the JSON asked for', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const result = await service
      .team('t')
      .chat({ model: 'echo', prompt: '{"ok":true}', responseFormat: { type: 'json_schema', schema } });
    expect(result.parsed).toEqual({ ok: true });
  });

  it('refuses models of other providers', async () => {
    await expect(service.team('t').chat({ model: 'gpt-4o-mini', prompt: 'x' })).rejects.toThrow(
      /belongs to provider 'OpenAI'/,
    );
  });
});
