import type {
  MessageCreateParamsNonStreaming,
  MessageParam,
  Message,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type { FinishReason, LLMMessage, LLMProviderRequest, LLMToolChoice, LLMUsage } from '../llm.backend';
import { structuredInstruction } from '../llm-usage';
import { conversationOf, textOf } from './llm-text';

type Block = Exclude<MessageParam['content'], string>[number];

/**
 * Our conversation as Anthropic wants it: system prompts apart, tool results as `tool_result`
 * blocks of a user turn, assistant tool calls as `tool_use` blocks, and consecutive turns of one
 * role merged (the API refuses two in a row).
 */
export function toAnthropic(messages: LLMMessage[]): { system: string; messages: MessageParam[] } {
  const system: string[] = [];
  const turns: MessageParam[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      system.push(textOf(message.content));
      continue;
    }
    const blocks: Block[] = [];
    if (message.role === 'tool')
      blocks.push({
        type: 'tool_result',
        tool_use_id: String(message.toolCallId ?? ''),
        content: textOf(message.content),
      });
    else if (Array.isArray(message.content) && message.content.every((part) => typeof part?.type === 'string'))
      blocks.push(...(message.content as Block[]));
    else if (textOf(message.content)) blocks.push({ type: 'text', text: textOf(message.content) });
    for (const call of message.toolCalls ?? [])
      blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.arguments ?? {} });
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const previous = turns.at(-1);
    if (previous && previous.role === role) (previous.content as Block[]).push(...blocks);
    else turns.push({ role, content: blocks });
  }
  return { system: system.filter(Boolean).join('\n\n'), messages: turns };
}

function toolChoiceOf(choice: LLMToolChoice | undefined): MessageCreateParamsNonStreaming['tool_choice'] {
  if (choice === undefined || choice === 'auto') return choice === undefined ? undefined : { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.name };
}

/** One body for both call kinds. JSON schemas go native (`output_config.format`); plain JSON is instructed. */
export function messagesBody(request: LLMProviderRequest): MessageCreateParamsNonStreaming {
  const { params } = request;
  const { system, messages } = toAnthropic(conversationOf(params));
  const format = params.responseFormat;
  const instruction = format?.type === 'json' ? structuredInstruction(format) : undefined;
  const prompt = [system, instruction].filter(Boolean).join('\n\n');
  const body: MessageCreateParamsNonStreaming = {
    model: params.model,
    max_tokens: params.maxTokens,
    messages,
    ...(prompt ? { system: prompt } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.topP !== undefined ? { top_p: params.topP } : {}),
    ...(params.stopSequences?.length ? { stop_sequences: params.stopSequences } : {}),
  };
  if (format?.type === 'json_schema') body.output_config = { format: { type: 'json_schema', schema: format.schema } };
  if (params.tools?.length) {
    body.tools = params.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      input_schema: (tool.parameters ?? { type: 'object', properties: {} }) as { type: 'object' },
    }));
    const choice = toolChoiceOf(params.toolChoice);
    if (choice) body.tool_choice = choice;
  }
  const budget = params.maxThinkingTokens;
  if (params.capabilities.reasoning && typeof budget === 'number' && budget > 0)
    body.thinking = { type: 'enabled', budget_tokens: budget };
  return body;
}

export function finishReasonOf(reason: Message['stop_reason'] | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'unknown';
  }
}

export function usageOf(usage: Partial<Message['usage']> | undefined): LLMUsage {
  return {
    inputTokens: usage?.input_tokens ?? 0,
    outputTokens: usage?.output_tokens ?? 0,
    cacheReadTokens: usage?.cache_read_input_tokens ?? 0,
    cacheWriteTokens: usage?.cache_creation_input_tokens ?? 0,
  };
}
