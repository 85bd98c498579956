import type {
  Content,
  FunctionCallingConfigMode,
  GenerateContentParameters,
  GenerateContentResponse,
  Part,
} from '@google/genai';
import type { FinishReason, LLMMessage, LLMProviderRequest, LLMToolCall, LLMUsage } from '../llm.backend';
import { conversationOf, textOf } from './llm-text';

/**
 * Our conversation as Gemini contents: system prompts become the system instruction, assistant
 * turns are `model` turns with `functionCall` parts, and a tool result is a `functionResponse`
 * part named after the call it answers (Gemini matches results by name, ids are optional).
 */
export function toContents(messages: LLMMessage[]): { system: string; contents: Content[] } {
  const system: string[] = [];
  const contents: Content[] = [];
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role === 'system') {
      system.push(textOf(message.content));
      continue;
    }
    const parts: Part[] = [];
    if (message.role === 'tool') {
      const id = String(message.toolCallId ?? '');
      parts.push({
        functionResponse: { id, name: names.get(id) ?? id, response: { result: textOf(message.content) } },
      });
    } else if (textOf(message.content)) parts.push({ text: textOf(message.content) });
    for (const call of message.toolCalls ?? []) {
      names.set(call.id, call.name);
      parts.push({ functionCall: { id: call.id, name: call.name, args: call.arguments ?? {} } });
    }
    const role = message.role === 'assistant' ? 'model' : 'user';
    const previous = contents.at(-1);
    if (previous?.role === role) previous.parts!.push(...parts);
    else contents.push({ role, parts });
  }
  return { system: system.filter(Boolean).join('\n\n'), contents };
}

const MODES: Record<string, FunctionCallingConfigMode> = {
  auto: 'AUTO' as FunctionCallingConfigMode,
  required: 'ANY' as FunctionCallingConfigMode,
  none: 'NONE' as FunctionCallingConfigMode,
};

/** One request for both call kinds; JSON schemas are native (`responseJsonSchema`). */
export function generateParams(request: LLMProviderRequest, signal?: AbortSignal): GenerateContentParameters {
  const { params } = request;
  const { system, contents } = toContents(conversationOf(params));
  const format = params.responseFormat;
  const config: NonNullable<GenerateContentParameters['config']> = {
    maxOutputTokens: params.maxTokens,
    ...(system ? { systemInstruction: system } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.topP !== undefined ? { topP: params.topP } : {}),
    ...(params.stopSequences?.length ? { stopSequences: params.stopSequences } : {}),
    ...(signal ? { abortSignal: signal } : {}),
  };
  if (format && format.type !== 'text') {
    config.responseMimeType = 'application/json';
    if (format.type === 'json_schema') config.responseJsonSchema = format.schema;
  }
  if (params.tools?.length) {
    config.tools = [
      {
        functionDeclarations: params.tools.map((tool) => ({
          name: tool.name,
          ...(tool.description ? { description: tool.description } : {}),
          parametersJsonSchema: tool.parameters ?? { type: 'object', properties: {} },
        })),
      },
    ];
    const choice = params.toolChoice;
    if (choice !== undefined)
      config.toolConfig = {
        functionCallingConfig:
          typeof choice === 'string'
            ? { mode: MODES[choice] }
            : { mode: MODES.required, allowedFunctionNames: [choice.name] },
      };
  }
  const budget = params.maxThinkingTokens;
  if (params.capabilities.reasoning && typeof budget === 'number' && budget > 0)
    config.thinkingConfig = { thinkingBudget: budget, includeThoughts: true };
  return { model: params.model, contents, config };
}

export function finishReasonOf(reason: string | undefined, hasTools: boolean): FinishReason {
  if (hasTools) return 'tool_calls';
  if (reason === 'STOP') return 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason && /SAFETY|RECITATION|BLOCKLIST|PROHIBITED|SPII|IMAGE_SAFETY/.test(reason)) return 'content_filter';
  return 'unknown';
}

export function usageOf(usage: GenerateContentResponse['usageMetadata']): LLMUsage {
  const cached = usage?.cachedContentTokenCount ?? 0;
  return {
    inputTokens: (usage?.promptTokenCount ?? 0) - cached,
    outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
    cacheReadTokens: cached,
  };
}

/** Gemini may omit call ids: each call gets one, so that its result can answer it. */
export function callOf(part: Part, index: number): LLMToolCall | undefined {
  const call = part.functionCall;
  if (!call?.name) return undefined;
  return {
    id: call.id ?? `${call.name}-${index}`,
    name: call.name,
    arguments: (call.args ?? {}) as Record<string, unknown>,
  };
}
