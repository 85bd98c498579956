import * as http from 'node:http';
import { listenLocally, onJsonBody } from './listen';
import type { ScriptedPeer } from './llm-script';
import { contentText, LLMScript, piecesOf, scriptedPeer, tokens, type ScriptedReply } from './llm-script';

export interface AnthropicPeerRequest {
  path: string;
  apiKey: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface AnthropicPeer extends ScriptedPeer<AnthropicPeerRequest> {
  /** `http://127.0.0.1:<port>`: the SDK's `baseURL` (it appends `/v1/messages` itself). */
  readonly baseURL: string;
}

interface Message {
  role: string;
  content: unknown;
}

function defaultAnswer(messages: Message[]): string {
  const last = messages.at(-1);
  const blocks = Array.isArray(last?.content) ? (last.content as { type?: string; content?: unknown }[]) : [];
  const result = blocks.find((block) => block.type === 'tool_result');
  return result ? `The tool answered: ${contentText(result.content)}` : contentText(last?.content);
}

function fail(res: http.ServerResponse, status: number, type: string, message: string, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
}

/**
 * A wire-compatible Anthropic Messages API on a free port of 127.0.0.1, for `@anthropic-ai/sdk`:
 * `POST /v1/messages` as JSON or as a stream (every SSE message with its `event:` line, which the
 * SDK needs), text, thinking and tool_use blocks, Anthropic's error bodies (401, 429 with
 * `retry-after`, 500) and streams cut in the middle. Accepts the key as `x-api-key` or bearer.
 */
export async function startAnthropicPeer(options: { apiKeys: string[] }): Promise<AnthropicPeer> {
  const requests: AnthropicPeerRequest[] = [];
  const script = new LLMScript();
  const server = http.createServer((req, res) => {
    onJsonBody(req, (body) => {
      const header = req.headers['x-api-key'];
      const apiKey =
        (Array.isArray(header) ? header[0] : header) ??
        /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ??
        '';
      if (!body) return fail(res, 400, 'invalid_request_error', 'invalid JSON');
      const path = (req.url ?? '').split('?')[0];
      requests.push({ path, apiKey, headers: req.headers, body });
      if (!options.apiKeys.includes(apiKey)) return fail(res, 401, 'authentication_error', 'invalid x-api-key');
      if (req.method !== 'POST' || path !== '/v1/messages') return fail(res, 404, 'not_found_error', 'Not found');
      const reply = script.next();
      if (reply?.error) {
        const retry = reply.error.retryAfterSeconds;
        const type = reply.error.status === 429 ? 'rate_limit_error' : 'api_error';
        return fail(
          res,
          reply.error.status,
          type,
          reply.error.message ?? 'scripted failure',
          retry === undefined ? {} : { 'retry-after': String(retry) },
        );
      }
      if (typeof body.max_tokens !== 'number')
        return fail(res, 400, 'invalid_request_error', 'max_tokens: Field required');
      const messages = (Array.isArray(body.messages) ? body.messages : []) as Message[];
      if (!messages.length)
        return fail(res, 400, 'invalid_request_error', 'messages: at least one message is required');
      void answer(body, messages, reply, res, script);
    });
  });
  const listener = await listenLocally(server);
  return scriptedPeer(script, requests, () => listener.close(), { baseURL: listener.origin });
}

async function answer(
  body: Record<string, unknown>,
  messages: Message[],
  reply: ScriptedReply | undefined,
  res: http.ServerResponse,
  script: LLMScript,
): Promise<void> {
  const text = reply?.content ?? (reply?.toolCalls ? '' : defaultAnswer(messages));
  const uses = (reply?.toolCalls ?? []).map((call, index) => ({
    type: 'tool_use',
    id: call.id ?? `toolu_${index}`,
    name: call.name,
    input: call.arguments,
  }));
  const content: Record<string, unknown>[] = [
    ...(reply?.thinking ? [{ type: 'thinking', thinking: reply.thinking, signature: 'sig' }] : []),
    ...(text ? [{ type: 'text', text }] : []),
    ...uses,
  ];
  const stop_reason = uses.length ? 'tool_use' : 'end_turn';
  const usage = { input_tokens: tokens(JSON.stringify(messages)), output_tokens: tokens(text) };
  const message = {
    id: `msg_${Date.now()}`,
    type: 'message',
    role: 'assistant',
    model: body.model,
    stop_sequence: null,
  };
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...message, content, stop_reason, usage }));
    return;
  }
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const chunks = [
    event('message_start', {
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 0 } },
    }),
    event('ping', {}),
  ];
  content.forEach((block, index) => {
    if (block.type === 'thinking') {
      chunks.push(
        event('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }),
      );
      chunks.push(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking } }));
    } else if (block.type === 'text') {
      chunks.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const piece of piecesOf(block.text as string))
        chunks.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
    } else {
      chunks.push(event('content_block_start', { index, content_block: { ...block, input: {} } }));
      chunks.push(
        event('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
        }),
      );
    }
    chunks.push(event('content_block_stop', { index }));
  });
  chunks.push(
    event('message_delta', {
      delta: { stop_reason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    }),
  );
  chunks.push(event('message_stop', {}));
  await script.sse(res, chunks, reply);
}
