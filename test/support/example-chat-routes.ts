import { rawRequest } from './http';

/** The server-sent events of a body: `[event, data]` pairs. */
export function sseEvents(text: string): [string, Record<string, unknown>][] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '{}';
      return [event, JSON.parse(data) as Record<string, unknown>];
    });
}

const json = { 'content-type': 'application/json' };

/**
 * The example app's `/chat` routes, driven over HTTP, on the built-in `echo` model that needs no
 * key: run against every configuration of the app with the same expectations.
 */
export function describeChatRoutes(app: () => { baseUrl: string }): void {
  it('POST /chat answers with the echo model by default, in the one result shape', async () => {
    const res = await rawRequest(app().baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hello from the app' }] }),
      headers: json,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({
      content: 'hello from the app',
      finishReason: 'stop',
      toolCalls: [],
      usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) },
    });
  });

  it('POST /chat with stream: true answers server-sent events ending with one finish', async () => {
    const res = await rawRequest(app().baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ model: 'echo', prompt: 'one two three', stream: true }),
      headers: json,
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const events = sseEvents(res.body.toString());
    expect(events.filter(([name]) => name === 'text').map(([, data]) => data.delta)).toEqual(['one', ' two', ' three']);
    expect(events.filter(([name]) => name === 'finish')).toHaveLength(1);
    expect(events.at(-1)).toEqual(['finish', expect.objectContaining({ finishReason: 'stop' })]);
  });

  it('GET /chat/stream serves the same stream through @Sse()', async () => {
    const res = await rawRequest(app().baseUrl, 'GET', '/chat/stream?prompt=via%20rx');
    expect(res.status).toBe(200);
    const events = sseEvents(res.body.toString());
    expect(events.map(([name]) => name)).toEqual(['text', 'text', 'usage', 'finish']);
  });

  it('POST /chat checks structured output against the schema', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const good = await rawRequest(app().baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ prompt: '{"ok":true}', responseFormat: { type: 'json_schema', schema } }),
      headers: json,
    });
    expect(JSON.parse(good.body.toString()).parsed).toEqual({ ok: true });
    const bad = await rawRequest(app().baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ prompt: '{"ok":"yes"}', responseFormat: { type: 'json_schema', schema } }),
      headers: json,
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.body.toString()).toContain('does not match the response schema');
  });

  it('POST /chat refuses an unknown model, a bad body, and a model whose key is missing', async () => {
    const unknown = await rawRequest(app().baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ model: 'no-such-model', prompt: 'x' }),
      headers: json,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.toString()).toContain('GET /models');
    for (const body of ['not json', '[]', JSON.stringify({ messages: 'hi' }), JSON.stringify({})])
      expect([body, (await rawRequest(app().baseUrl, 'POST', '/chat', { body, headers: json })).status]).toEqual([
        body,
        400,
      ]);
    const keyless = await rawRequest(app().baseUrl, 'POST', '/chat', {
      body: JSON.stringify({ model: 'gpt-4o-mini', prompt: 'x' }),
      headers: { ...json, 'x-sre-team': 'nokeys' },
    });
    expect(keyless.status).toBeGreaterThanOrEqual(400);
    expect(keyless.body.toString()).toContain("vault key 'openai'");
  });
}
