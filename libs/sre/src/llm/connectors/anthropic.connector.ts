/* eslint-disable @typescript-eslint/no-require-imports -- the Anthropic SDK loads when this connector is first used */
import type Anthropic from '@anthropic-ai/sdk';
import { sourceOf, type ConnectorContext } from '../../core/backend';
import type { SreErrorSource } from '../../core/errors';
import { ClientsByCredential } from '../llm-credentials';
import { providerError, requireApiKey } from '../llm-errors';
import type { LLMBackend, LLMChatResult, LLMProviderRequest, LLMStreamEvent, LLMUsage } from '../llm.backend';
import { finishReasonOf, messagesBody, usageOf } from './anthropic-mapping';
import { ToolCallAssembler } from './openai-mapping';

/**
 * Anthropic's Messages API on `@anthropic-ai/sdk`: text, thinking and tool_use blocks, native JSON
 * schema output, and its stream of typed events. One client per key and base URL (W38); the SDK's
 * own retries are off, the service's apply.
 */
export class AnthropicConnector implements LLMBackend {
  static readonly connectorName = 'Anthropic';
  readonly providers = ['Anthropic'] as const;
  private readonly source: SreErrorSource;
  private readonly clients = new ClientsByCredential<Anthropic>();

  constructor(_settings: unknown, context: ConnectorContext) {
    this.source = sourceOf(context);
  }

  async chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    const client = this.client(request);
    try {
      const message = await client.messages.create(messagesBody(request), { signal: request.abortSignal });
      let content = '';
      let thinking = '';
      const toolCalls: LLMChatResult['toolCalls'] = [];
      for (const block of message.content) {
        if (block.type === 'text') content += block.text;
        else if (block.type === 'thinking') thinking += block.thinking;
        else if (block.type === 'tool_use')
          toolCalls.push({ id: block.id, name: block.name, arguments: (block.input ?? {}) as Record<string, unknown> });
      }
      return {
        content,
        toolCalls,
        finishReason: finishReasonOf(message.stop_reason),
        usage: usageOf(message.usage),
        ...(thinking ? { thinking } : {}),
      };
    } catch (error) {
      throw this.failure(error, request);
    }
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    const client = this.client(request);
    const tools = new ToolCallAssembler();
    const blockTool = new Map<number, number>();
    let usage: LLMUsage | undefined;
    let stopReason: Parameters<typeof finishReasonOf>[0] | undefined;
    let stopped = false;
    try {
      const stream = await client.messages.create(
        { ...messagesBody(request), stream: true },
        { signal: request.abortSignal },
      );
      for await (const event of stream) {
        if (request.abortSignal?.aborted) throw request.abortSignal.reason;
        switch (event.type) {
          case 'message_start':
            usage = usageOf(event.message.usage);
            break;
          case 'content_block_start':
            if (event.content_block.type === 'tool_use') {
              const index = blockTool.size;
              blockTool.set(event.index, index);
              tools.add(index, event.content_block.id, event.content_block.name);
              yield {
                type: 'tool-call',
                index,
                id: event.content_block.id,
                name: event.content_block.name,
                argumentsDelta: '',
              };
            }
            break;
          case 'content_block_delta':
            if (event.delta.type === 'text_delta') yield { type: 'text', delta: event.delta.text };
            else if (event.delta.type === 'thinking_delta') yield { type: 'thinking', delta: event.delta.thinking };
            else if (event.delta.type === 'input_json_delta') {
              const index = blockTool.get(event.index) ?? 0;
              tools.add(index, undefined, undefined, event.delta.partial_json);
              yield { type: 'tool-call', index, argumentsDelta: event.delta.partial_json };
            }
            break;
          case 'message_delta':
            stopReason = event.delta.stop_reason;
            usage = { ...(usage ?? usageOf(undefined)), outputTokens: event.usage.output_tokens ?? 0 };
            break;
          case 'message_stop':
            stopped = true;
            break;
        }
      }
    } catch (error) {
      throw this.failure(error, request);
    }
    // without message_stop the stream was cut: what came is no complete answer
    if (!stopped) throw this.failure(new Error('the stream ended before the answer was complete'), request);
    if (usage) yield { type: 'usage', usage };
    yield { type: 'finish', finishReason: finishReasonOf(stopReason), toolCalls: tools.result() };
  }

  async disconnect(): Promise<void> {
    this.clients.clear();
  }

  private client(request: LLMProviderRequest): Anthropic {
    const apiKey = requireApiKey(request, this.source, 'Anthropic');
    const baseURL = request.params.baseURL;
    return this.clients.get({ apiKey, baseURL }, () => {
      const { Anthropic: Client } = require('@anthropic-ai/sdk') as typeof import('@anthropic-ai/sdk');
      return new Client({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0 });
    });
  }

  private failure(error: unknown, request: LLMProviderRequest) {
    return providerError(error, this.source, 'Anthropic', request.context.keyHint ?? 'the vault');
  }
}
