import { setTimeout as delay } from 'node:timers/promises';
import type { LLMBackend, LLMChatResult, LLMProviderRequest, LLMStreamEvent } from '../llm.backend';
import { conversationOf, estimateTokens, textOf } from './llm-text';

/**
 * The provider that needs nothing: answers with the last user message's text (the example app's
 * default model, and a stand-in in tests). Streams one word at a time, 3 ms apart, like the original.
 */
export class EchoConnector implements LLMBackend {
  static readonly connectorName = 'Echo';
  readonly providers = ['Echo'] as const;

  async chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    const { input, output } = this.answer(request);
    return { content: output, toolCalls: [], finishReason: 'stop', usage: usageOf(input, output) };
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    const { input, output } = this.answer(request);
    const words = output.split(' ');
    for (const [index, word] of words.entries()) {
      if (request.abortSignal?.aborted) throw request.abortSignal.reason;
      if (word === '' && words.length === 1) break;
      yield { type: 'text', delta: index === 0 ? word : ` ${word}` };
      await delay(3, undefined, { signal: request.abortSignal }).catch(() => undefined);
    }
    yield { type: 'usage', usage: usageOf(input, output) };
    yield { type: 'finish', finishReason: 'stop', toolCalls: [] };
  }

  private answer(request: LLMProviderRequest): { input: string; output: string } {
    const messages = conversationOf(request.params);
    const input = messages.map((message) => textOf(message.content)).join('\n');
    const last = [...messages].reverse().find((message) => message.role === 'user') ?? messages.at(-1);
    return { input, output: textOf(last?.content) };
  }
}

function usageOf(input: string, output: string) {
  return { inputTokens: estimateTokens(input), outputTokens: estimateTokens(output) };
}
