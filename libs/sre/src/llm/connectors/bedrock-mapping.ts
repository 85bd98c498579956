import type {
  ContentBlock,
  ConverseCommandInput,
  Message,
  StopReason,
  TokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type { FinishReason, LLMMessage, LLMProviderRequest, LLMUsage } from '../llm.backend';
import { structuredInstruction } from '../llm-usage';
import { conversationOf, textOf } from './llm-text';

/** Our conversation as Converse messages: system apart, tool results as `toolResult` blocks of a user turn, turns of one role merged. */
export function toConverse(messages: LLMMessage[]): { system: string[]; messages: Message[] } {
  const system: string[] = [];
  const turns: Message[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      if (textOf(message.content)) system.push(textOf(message.content));
      continue;
    }
    const blocks: ContentBlock[] = [];
    if (message.role === 'tool')
      blocks.push({
        toolResult: { toolUseId: String(message.toolCallId ?? ''), content: [{ text: textOf(message.content) }] },
      });
    else if (textOf(message.content)) blocks.push({ text: textOf(message.content) });
    for (const call of message.toolCalls ?? [])
      blocks.push({ toolUse: { toolUseId: call.id, name: call.name, input: (call.arguments ?? {}) as never } });
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const previous = turns.at(-1);
    if (previous?.role === role) previous.content!.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  return { system, messages: turns };
}

/** One input for both commands; a JSON schema goes native (`outputConfig.textFormat`), plain JSON is instructed. */
export function converseInput(request: LLMProviderRequest): ConverseCommandInput {
  const { params } = request;
  const { system, messages } = toConverse(conversationOf(params));
  const format = params.responseFormat;
  if (format?.type === 'json') system.push(structuredInstruction(format)!);
  const input: ConverseCommandInput = {
    modelId: params.model,
    messages,
    ...(system.length ? { system: system.map((text) => ({ text })) } : {}),
    inferenceConfig: {
      maxTokens: params.maxTokens,
      ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
      ...(params.topP !== undefined ? { topP: params.topP } : {}),
      ...(params.stopSequences?.length ? { stopSequences: params.stopSequences } : {}),
    },
  };
  if (format?.type === 'json_schema')
    input.outputConfig = {
      textFormat: {
        type: 'json_schema',
        structure: { jsonSchema: { schema: JSON.stringify(format.schema), name: format.name ?? 'response' } },
      },
    };
  if (params.tools?.length) {
    const choice = params.toolChoice;
    input.toolConfig = {
      tools: params.tools.map((tool) => ({
        toolSpec: {
          name: tool.name,
          ...(tool.description ? { description: tool.description } : {}),
          inputSchema: { json: (tool.parameters ?? { type: 'object', properties: {} }) as never },
        },
      })),
      ...(choice === 'required'
        ? { toolChoice: { any: {} } }
        : typeof choice === 'object'
          ? { toolChoice: { tool: { name: choice.name } } }
          : choice === 'auto'
            ? { toolChoice: { auto: {} } }
            : {}),
    };
  }
  const budget = params.maxThinkingTokens;
  if (params.capabilities.reasoning && typeof budget === 'number' && budget > 0)
    input.additionalModelRequestFields = { thinking: { type: 'enabled', budget_tokens: budget } };
  return input;
}

export function finishReasonOf(reason: StopReason | string | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'unknown';
  }
}

export function usageOf(usage: TokenUsage | undefined): LLMUsage {
  return {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadInputTokens ?? 0,
    cacheWriteTokens: usage?.cacheWriteInputTokens ?? 0,
  };
}
