import type { LLMBackend, LLMChatResult, LLMProviderRequest, LLMStreamEvent } from '../../llm/llm.backend';

export interface MemoryLLMOptions {
  /** A text (last message or prompt) that makes the call fail with `provider failed`. */
  failOn?: string;
}

/**
 * An LLM backend that echoes: the answer is the last message's text (or the prompt), streamed one
 * word per tick so that consumers and aborts interleave like with a real provider. Records every
 * request it is given, so that tests can see what the service prepared.
 */
export class MemoryLLMBackend implements LLMBackend {
  static readonly connectorName = 'MemoryLLM';

  readonly requests: LLMProviderRequest[] = [];
  private readonly failOn?: string;

  constructor(options: MemoryLLMOptions = {}) {
    this.failOn = options.failOn;
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  async chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    const text = this.answer(request);
    return { content: text, toolCalls: [], finishReason: 'stop', usage: usageOf(text) };
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    const text = this.answer(request);
    const signal = request.abortSignal;
    for (const [index, word] of text.split(' ').filter(Boolean).entries()) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw signal.reason;
      yield { type: 'text', delta: index === 0 ? word : ` ${word}` };
    }
    yield { type: 'finish', finishReason: 'stop', toolCalls: [], usage: usageOf(text) };
  }

  private answer(request: LLMProviderRequest): string {
    this.requests.push(request);
    const last = request.params.messages?.at(-1)?.content;
    const text = typeof last === 'string' ? last : (request.params.prompt ?? '');
    if (this.failOn !== undefined && text === this.failOn) throw new Error('provider failed');
    return String(text);
  }
}

function usageOf(text: string) {
  return { inputTokens: Math.ceil(text.length / 4), outputTokens: Math.ceil(text.length / 4) };
}
