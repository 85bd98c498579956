import { EventEmitter } from 'node:events';
import type { ChatResponse, LLMBackend, LLMProviderRequest } from '../../llm/llm.backend';

export interface MemoryLLMOptions {
  /** A text (last message or prompt) that makes the call fail with `provider failed`. */
  failOn?: string;
}

/**
 * An LLM backend that echoes: the answer is the last message's text (or the prompt), streamed one
 * word per tick so that listeners and aborts interleave like with a real provider. Records every
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

  async chatRequest(request: LLMProviderRequest): Promise<ChatResponse> {
    const text = this.answer(request);
    return { content: text, finishReason: 'stop' };
  }

  async streamChatRequest(request: LLMProviderRequest): Promise<EventEmitter> {
    const words = this.answer(request).split(' ').filter(Boolean);
    const stream = new EventEmitter();
    const signal = request.abortSignal;
    const next = (index: number) => {
      if (signal?.aborted) {
        stream.emit('abort', signal.reason);
        stream.emit('end', [], [], 'abort');
      } else if (index === words.length) {
        stream.emit('end', [], [], 'stop');
      } else {
        stream.emit('content', words[index]);
        setImmediate(next, index + 1);
      }
    };
    setImmediate(next, 0);
    return stream;
  }

  private answer(request: LLMProviderRequest): string {
    this.requests.push(request);
    const last = request.params.messages?.at(-1)?.content;
    const text = typeof last === 'string' ? last : (request.params.prompt ?? '');
    if (this.failOn !== undefined && text === this.failOn) throw new Error('provider failed');
    return String(text);
  }
}
