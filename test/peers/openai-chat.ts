import type * as http from 'node:http';
import { contentText, piecesOf, tokens, type LLMScript } from './llm-script';

interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: unknown[];
}

/** The default answer: the last message's text; a tool's result is quoted. */
function defaultAnswer(messages: ChatMessage[]): string {
  const last = messages.at(-1);
  const text = contentText(last?.content);
  return last?.role === 'tool' ? `The tool answered: ${text}` : text;
}

/**
 * `POST /v1/chat/completions` as the openai SDK calls it: a JSON completion, or with `stream: true`
 * `data:` chunks (role, content pieces, tool-call fragments, the finish chunk, an optional usage
 * chunk) and `data: [DONE]`.
 */
export async function chatCompletions(
  body: Record<string, unknown>,
  res: http.ServerResponse,
  script: LLMScript,
): Promise<void> {
  const reply = script.next();
  const messages = (Array.isArray(body.messages) ? body.messages : []) as ChatMessage[];
  const model = String(body.model ?? '');
  const content = reply?.content ?? (reply?.toolCalls ? '' : defaultAnswer(messages));
  const toolCalls = (reply?.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_${index}_${Date.now().toString(36)}`,
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
  const finish_reason = toolCalls.length ? 'tool_calls' : 'stop';
  const prompt = messages.map((message) => contentText(message.content)).join(' ');
  const usage = { prompt_tokens: tokens(prompt), completion_tokens: tokens(content), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const base = { id: `chatcmpl-${Date.now()}`, created: Math.floor(Date.now() / 1000), model };
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: toolCalls.length && !content ? null : content,
              refusal: null,
              ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
            },
            finish_reason,
            logprobs: null,
          },
        ],
        usage,
      }),
    );
    return;
  }
  const chunk = (delta: unknown, finish: string | null = null) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const chunks = [chunk({ role: 'assistant', content: '' })];
  for (const piece of piecesOf(content)) chunks.push(chunk({ content: piece }));
  toolCalls.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }],
      }),
    );
    const args = call.function.arguments;
    for (let at = 0; at < args.length; at += 8)
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: args.slice(at, at + 8) } }] }));
  });
  chunks.push(chunk({}, finish_reason));
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage)
    chunks.push(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
  chunks.push('data: [DONE]\n\n');
  await script.sse(res, chunks, reply);
}
