import type OpenAI from 'openai';
import type {
  Response,
  ResponseCreateParamsNonStreaming,
  ResponseInputItem,
} from 'openai/resources/responses/responses';
import type {
  FinishReason,
  LLMChatResult,
  LLMMessage,
  LLMProviderRequest,
  LLMStreamEvent,
  LLMUsage,
} from '../llm.backend';
import { conversationOf, textOf } from './llm-text';
import { parseArguments, ToolCallAssembler } from './openai-mapping';

/** Our messages as Responses input items: tool calls and their outputs are items of their own. */
function inputOf(messages: LLMMessage[]): ResponseInputItem[] {
  return messages.flatMap((message): ResponseInputItem[] => {
    if (message.role === 'tool')
      return [
        { type: 'function_call_output', call_id: String(message.toolCallId ?? ''), output: textOf(message.content) },
      ];
    const text = textOf(message.content);
    const own: ResponseInputItem[] = text
      ? [{ role: message.role as 'user' | 'assistant' | 'system' | 'developer', content: text }]
      : [];
    for (const call of message.toolCalls ?? [])
      own.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: JSON.stringify(call.arguments) });
    return own;
  });
}

function bodyOf(request: LLMProviderRequest): ResponseCreateParamsNonStreaming {
  const { params } = request;
  const format = params.responseFormat;
  const body: ResponseCreateParamsNonStreaming = {
    model: params.model,
    input: inputOf(conversationOf(params)),
    max_output_tokens: params.maxTokens,
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.topP !== undefined ? { top_p: params.topP } : {}),
  };
  const tools: NonNullable<ResponseCreateParamsNonStreaming['tools']> = (params.tools ?? []).map((tool) => ({
    type: 'function',
    name: tool.name,
    description: tool.description ?? null,
    parameters: tool.parameters ?? { type: 'object', properties: {} },
    strict: false,
  }));
  // the original forces this interface for web search; both call kinds get the tool (W40)
  if (params.useWebSearch === true && params.capabilities.search)
    tools.push({
      type: 'web_search_preview',
      search_context_size: (params.webSearchContextSize as 'medium') ?? 'medium',
    });
  if (tools.length) body.tools = tools;
  const choice = params.toolChoice;
  if (choice !== undefined)
    body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', name: choice.name };
  if (format?.type === 'json_schema')
    body.text = {
      format: {
        type: 'json_schema',
        name: format.name ?? 'response',
        schema: format.schema,
        strict: format.strict ?? false,
      },
    };
  else if (format?.type === 'json') body.text = { format: { type: 'json_object' } };
  return body;
}

function usageOf(usage: Response['usage']): LLMUsage {
  const cached = usage?.input_tokens_details?.cached_tokens ?? 0;
  return {
    inputTokens: (usage?.input_tokens ?? 0) - cached,
    outputTokens: usage?.output_tokens ?? 0,
    cacheReadTokens: cached,
  };
}

function finishOf(response: Response, hasTools: boolean): FinishReason {
  if (response.status === 'incomplete')
    return response.incomplete_details?.reason === 'max_output_tokens' ? 'length' : 'content_filter';
  return hasTools ? 'tool_calls' : response.status === 'completed' ? 'stop' : 'unknown';
}

export async function responsesChat(client: OpenAI, request: LLMProviderRequest): Promise<LLMChatResult> {
  const response = await client.responses.create(bodyOf(request), { signal: request.abortSignal });
  const toolCalls = response.output
    .filter((item) => item.type === 'function_call')
    .map((item) => ({ id: item.call_id, name: item.name, arguments: parseArguments(item.arguments) }));
  return {
    content: response.output_text ?? '',
    toolCalls,
    finishReason: finishOf(response, toolCalls.length > 0),
    usage: usageOf(response.usage),
  };
}

export async function* responsesStream(client: OpenAI, request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
  const stream = await client.responses.create({ ...bodyOf(request), stream: true }, { signal: request.abortSignal });
  const tools = new ToolCallAssembler();
  let completed: Response | undefined;
  for await (const event of stream) {
    if (request.abortSignal?.aborted) throw request.abortSignal.reason;
    if (event.type === 'response.output_text.delta') yield { type: 'text', delta: event.delta };
    else if (event.type === 'response.reasoning_summary_text.delta') yield { type: 'thinking', delta: event.delta };
    else if (event.type === 'response.output_item.added' && event.item.type === 'function_call') {
      tools.add(event.output_index, event.item.call_id, event.item.name);
      yield {
        type: 'tool-call',
        index: event.output_index,
        id: event.item.call_id,
        name: event.item.name,
        argumentsDelta: '',
      };
    } else if (event.type === 'response.function_call_arguments.delta') {
      tools.add(event.output_index, undefined, undefined, event.delta);
      yield { type: 'tool-call', index: event.output_index, argumentsDelta: event.delta };
    } else if (event.type === 'response.completed' || event.type === 'response.incomplete') completed = event.response;
    else if (event.type === 'response.failed' || event.type === 'error')
      throw new Error(`the response failed: ${JSON.stringify('response' in event ? event.response.error : event)}`);
  }
  if (!completed) throw new Error('the stream ended before the answer was complete');
  const toolCalls = tools.result();
  yield { type: 'usage', usage: usageOf(completed.usage) };
  yield { type: 'finish', finishReason: finishOf(completed, toolCalls.length > 0), toolCalls };
}
