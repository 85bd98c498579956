import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { onJsonBody } from './listen';
import type { ScriptedPeer } from './llm-script';
import { contentText, LLMScript, piecesOf, scriptedPeer, tokens, type ScriptedReply } from './llm-script';

export interface BedrockPeerRequest {
  path: string;
  /** The access key id of the SigV4 `Authorization` header (the signature is not checked). */
  accessKeyId: string;
  body: Record<string, unknown>;
}

export interface BedrockPeer extends ScriptedPeer<BedrockPeerRequest> {
  /** `http://127.0.0.1:<port>`: the client's `endpoint`. */
  readonly endpoint: string;
}

/** One message of AWS's event stream: prelude (lengths + CRC), string headers, JSON payload, CRC. */
export function eventMessage(eventType: string, payload: unknown): Buffer {
  const headers = Buffer.concat(
    Object.entries({ ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }).map(
      ([name, value]) => {
        const nameBytes = Buffer.from(name);
        const valueBytes = Buffer.from(value);
        const header = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
        header.writeUInt8(nameBytes.length, 0);
        nameBytes.copy(header, 1);
        header.writeUInt8(7, 1 + nameBytes.length); // 7: a string value
        header.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
        valueBytes.copy(header, 4 + nameBytes.length);
        return header;
      },
    ),
  );
  const body = Buffer.from(JSON.stringify(payload));
  const total = 12 + headers.length + body.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headers.length, 4);
  const preludeCrc = Buffer.alloc(4);
  preludeCrc.writeUInt32BE(crc32(prelude), 0);
  const message = Buffer.concat([prelude, preludeCrc, headers, body]);
  const messageCrc = Buffer.alloc(4);
  messageCrc.writeUInt32BE(crc32(message), 0);
  return Buffer.concat([message, messageCrc]);
}

interface Message {
  role: string;
  content?: { text?: string; toolResult?: { content?: { text?: string }[] } }[];
}

function defaultAnswer(messages: Message[]): string {
  const blocks = messages.at(-1)?.content ?? [];
  const result = blocks.find((block) => block.toolResult)?.toolResult;
  if (result) return `The tool answered: ${contentText(result.content)}`;
  return blocks.map((block) => block.text ?? '').join('');
}

function fail(res: http2.Http2ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${type}:http://internal.amazon.com/`,
  });
  res.end(JSON.stringify({ message }));
}

/**
 * A wire-compatible Bedrock Runtime Converse API on a free port of 127.0.0.1, for
 * `@aws-sdk/client-bedrock-runtime`: `/model/{id}/converse` (JSON) and `/converse-stream` (AWS's
 * binary event stream), text, reasoning and toolUse blocks, AWS's error shape
 * (`x-amzn-errortype`: UnrecognizedClientException, ThrottlingException, InternalServerException)
 * and streams cut in the middle.
 */
export async function startBedrockPeer(options: { accessKeyIds: string[] }): Promise<BedrockPeer> {
  const requests: BedrockPeerRequest[] = [];
  const script = new LLMScript();
  // the Bedrock client speaks HTTP/2 (cleartext with prior knowledge against an http:// endpoint)
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer((req, res) => {
    onJsonBody(req, (body) => {
      const accessKeyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!body) return fail(res, 400, 'ValidationException', 'Malformed input request');
      const path = decodeURIComponent((req.url ?? '').split('?')[0]);
      requests.push({ path, accessKeyId, body });
      if (!options.accessKeyIds.includes(accessKeyId))
        return fail(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      const match = /^\/model\/(.+)\/(converse|converse-stream)$/.exec(path);
      if (req.method !== 'POST' || !match) return fail(res, 404, 'ResourceNotFoundException', `no route ${path}`);
      const reply = script.next();
      if (reply?.error) {
        if (reply.error.status === 429)
          return fail(res, 429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
        return fail(res, reply.error.status, 'InternalServerException', reply.error.message ?? 'scripted failure');
      }
      const messages = (Array.isArray(body.messages) ? body.messages : []) as Message[];
      if (!messages.length) return fail(res, 400, 'ValidationException', 'The messages field is required');
      void answer(match[2] === 'converse-stream', messages, reply, res, script);
    });
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const session of sessions) session.destroy();
      server.close(() => resolve());
    });
  return scriptedPeer(script, requests, stop, { endpoint: `http://127.0.0.1:${port}` });
}

async function answer(
  stream: boolean,
  messages: Message[],
  reply: ScriptedReply | undefined,
  res: http2.Http2ServerResponse,
  script: LLMScript,
): Promise<void> {
  const text = reply?.content ?? (reply?.toolCalls ? '' : defaultAnswer(messages));
  const uses = (reply?.toolCalls ?? []).map((call, index) => ({
    toolUseId: call.id ?? `tooluse_${index}`,
    name: call.name,
    input: call.arguments,
  }));
  const stopReason = uses.length ? 'tool_use' : 'end_turn';
  const usage = { inputTokens: tokens(JSON.stringify(messages)), outputTokens: tokens(text), totalTokens: 0 };
  if (!stream) {
    const content = [
      ...(reply?.thinking ? [{ reasoningContent: { reasoningText: { text: reply.thinking } } }] : []),
      ...(text ? [{ text }] : []),
      ...uses.map((toolUse) => ({ toolUse })),
    ];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        output: { message: { role: 'assistant', content } },
        stopReason,
        usage,
        metrics: { latencyMs: 1 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
  let index = 0;
  const events: Buffer[] = [eventMessage('messageStart', { role: 'assistant' })];
  if (reply?.thinking) {
    events.push(
      eventMessage('contentBlockDelta', {
        contentBlockIndex: index,
        delta: { reasoningContent: { text: reply.thinking } },
      }),
    );
    events.push(eventMessage('contentBlockStop', { contentBlockIndex: index++ }));
  }
  if (text) {
    for (const piece of piecesOf(text))
      events.push(eventMessage('contentBlockDelta', { contentBlockIndex: index, delta: { text: piece } }));
    events.push(eventMessage('contentBlockStop', { contentBlockIndex: index++ }));
  }
  for (const use of uses) {
    events.push(
      eventMessage('contentBlockStart', {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: use.toolUseId, name: use.name } },
      }),
    );
    events.push(
      eventMessage('contentBlockDelta', {
        contentBlockIndex: index,
        delta: { toolUse: { input: JSON.stringify(use.input) } },
      }),
    );
    events.push(eventMessage('contentBlockStop', { contentBlockIndex: index++ }));
  }
  events.push(eventMessage('messageStop', { stopReason }));
  events.push(eventMessage('metadata', { usage, metrics: { latencyMs: 1 } }));
  await sendEvents(res, events, reply, script);
}

async function sendEvents(
  res: http2.Http2ServerResponse,
  events: Buffer[],
  reply: ScriptedReply | undefined,
  script: LLMScript,
) {
  let closed = false;
  res.on('close', () => {
    if (!res.writableEnded) {
      closed = true;
      script.clientClosed++;
    }
  });
  for (const [i, event] of events.entries()) {
    if (closed) return;
    if (reply?.cutAfterChunks !== undefined && i >= reply.cutAfterChunks) {
      res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    res.write(event);
    if (reply?.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.chunkDelayMs));
  }
  if (!closed) res.end();
}
