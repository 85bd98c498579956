import type * as http from 'node:http';
import { contentText, piecesOf, tokens, type LLMScript } from './llm-script';

interface InputItem {
  type?: string;
  role?: string;
  content?: unknown;
  output?: string;
}

function defaultAnswer(input: InputItem[]): string {
  const last = input.at(-1);
  if (last?.type === 'function_call_output') return `The tool answered: ${last.output ?? ''}`;
  return contentText(last?.content);
}

/**
 * `POST /v1/responses` as the openai SDK calls it: a Response object, or with `stream: true` the
 * typed events (`event:` + `data:`) from `response.created` to `response.completed`.
 */
export async function responses(
  body: Record<string, unknown>,
  res: http.ServerResponse,
  script: LLMScript,
): Promise<void> {
  const reply = script.next();
  const input = (typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input) as InputItem[];
  const text = reply?.content ?? (reply?.toolCalls ? '' : defaultAnswer(input ?? []));
  const id = `resp_${Date.now().toString(36)}`;
  const messageItem = {
    type: 'message',
    id: `msg_${id}`,
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text, annotations: [] }],
  };
  const calls = (reply?.toolCalls ?? []).map((call, index) => ({
    type: 'function_call',
    id: `fc_${index}`,
    call_id: call.id ?? `call_${index}`,
    name: call.name,
    arguments: JSON.stringify(call.arguments),
    status: 'completed',
  }));
  const output = [...(text ? [messageItem] : []), ...calls];
  const usage = {
    input_tokens: tokens(JSON.stringify(input ?? [])),
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: tokens(text),
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 0,
  };
  const response = {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    model: body.model,
    output,
    usage,
    error: null,
    incomplete_details: null,
  };
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(response));
    return;
  }
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
  const chunks = [event('response.created', { response: { ...response, status: 'in_progress', output: [] } })];
  if (text) {
    chunks.push(event('response.output_item.added', { output_index: 0, item: { ...messageItem, content: [] } }));
    for (const piece of piecesOf(text))
      chunks.push(
        event('response.output_text.delta', {
          item_id: messageItem.id,
          output_index: 0,
          content_index: 0,
          delta: piece,
        }),
      );
  }
  calls.forEach((call, i) => {
    const output_index = (text ? 1 : 0) + i;
    chunks.push(event('response.output_item.added', { output_index, item: { ...call, arguments: '' } }));
    chunks.push(
      event('response.function_call_arguments.delta', { item_id: call.id, output_index, delta: call.arguments }),
    );
  });
  chunks.push(event('response.completed', { response }));
  await script.sse(res, chunks, reply);
}
