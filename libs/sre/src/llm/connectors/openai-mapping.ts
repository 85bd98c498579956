import type ChatCompletions from 'openai/resources/chat/completions';
import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import type {
  FinishReason,
  LLMMessage,
  LLMProviderRequest,
  LLMToolCall,
  LLMToolChoice,
  LLMUsage,
} from '../llm.backend';
import { structuredInstruction } from '../llm-usage';
import { conversationOf, textOf } from './llm-text';
import type { OpenAIPresetInfo } from './openai-presets';

type Body = ChatCompletions.ChatCompletionCreateParamsNonStreaming;
type Message = ChatCompletions.ChatCompletionMessageParam;

/** Our messages as Chat Completions messages: assistant tool calls and tool results included. */
export function toOpenAIMessages(messages: LLMMessage[]): Message[] {
  return messages.map((message): Message => {
    // already in OpenAI's own shape (code ported from the SRE): passed as it is
    if (message.tool_calls !== undefined || message.tool_call_id !== undefined) return message as unknown as Message;
    if (message.role === 'tool')
      return { role: 'tool', tool_call_id: String(message.toolCallId ?? ''), content: textOf(message.content) };
    if (message.role === 'assistant' && message.toolCalls?.length)
      return {
        role: 'assistant',
        content: textOf(message.content) || null,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
        })),
      };
    const content = Array.isArray(message.content) ? message.content : textOf(message.content);
    return { role: message.role, content } as Message;
  });
}

function toolChoiceOf(choice: LLMToolChoice | undefined): Body['tool_choice'] {
  if (choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

/**
 * The request body, built the same way for both call kinds so that nothing (tools, provider
 * options such as web search) is lost on one of them (W40).
 */
export function chatBody(request: LLMProviderRequest, preset: OpenAIPresetInfo, source: SreErrorSource): Body {
  const { params } = request;
  const messages = [...conversationOf(params)];
  const format = params.responseFormat;
  const body: Record<string, unknown> = { model: params.model };
  if (format?.type === 'json_schema' && preset.jsonSchema)
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: format.name ?? 'response', schema: format.schema, strict: format.strict ?? false },
    };
  else if (format && format.type !== 'text') {
    body.response_format = { type: 'json_object' };
    messages.unshift({ role: 'system', content: structuredInstruction(format) });
  }
  body.messages = toOpenAIMessages(messages);
  body[preset.maxTokensField] = params.maxTokens;
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.stopSequences?.length) body.stop = params.stopSequences;
  if (params.tools?.length && !preset.tools)
    throw new SreInvalidInputError(`model '${params.modelEntryName}': this provider takes no tools`, source);
  if (params.tools?.length) {
    body.tools = params.tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: tool.parameters ?? { type: 'object', properties: {} },
      },
    }));
    body.tool_choice = toolChoiceOf(params.toolChoice);
  }
  if (params.useWebSearch === true && params.capabilities.search)
    body.web_search_options = { search_context_size: params.webSearchContextSize ?? 'medium' };
  if (preset.liveSearch && params.useSearch === true && params.capabilities.search)
    body.search_parameters = {
      mode: params.searchMode ?? 'auto',
      return_citations: params.returnCitations ?? true,
      ...(params.maxSearchResults !== undefined ? { max_search_results: params.maxSearchResults } : {}),
      ...(params.fromDate !== undefined ? { from_date: params.fromDate } : {}),
      ...(params.toDate !== undefined ? { to_date: params.toDate } : {}),
    };
  if (isObject(params.providerOptions)) Object.assign(body, params.providerOptions);
  return body as unknown as Body;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function finishReasonOf(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
    case 'length':
    case 'content_filter':
    case 'tool_calls':
      return reason;
    case 'function_call':
      return 'tool_calls';
    default:
      return 'unknown';
  }
}

export function usageOf(usage: ChatCompletions.ChatCompletion['usage'] | null | undefined): LLMUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  // the original bills cached tokens apart from the others
  return {
    inputTokens: (usage?.prompt_tokens ?? 0) - cached,
    outputTokens: usage?.completion_tokens ?? 0,
    cacheReadTokens: cached,
  };
}

/** Arguments as the model sent them: JSON text, parsed; what does not parse is kept under `_raw`. */
export function parseArguments(text: string | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : { value: parsed };
  } catch {
    return { _raw: text };
  }
}

/** Tool-call fragments of a stream, assembled by index. */
export class ToolCallAssembler {
  private readonly calls: { id: string; name: string; args: string }[] = [];

  add(index: number, id?: string, name?: string, args?: string): void {
    const call = (this.calls[index] ??= { id: '', name: '', args: '' });
    if (id) call.id = id;
    if (name) call.name += name;
    if (args) call.args += args;
  }

  result(): LLMToolCall[] {
    return this.calls
      .filter(Boolean)
      .map((call) => ({ id: call.id, name: call.name, arguments: parseArguments(call.args) }));
  }
}
