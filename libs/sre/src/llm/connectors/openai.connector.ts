/* eslint-disable @typescript-eslint/no-require-imports -- the openai SDK loads when this connector is first used */
import type OpenAI from 'openai';
import { sourceOf, type ConnectorContext } from '../../core/backend';
import type { SreErrorSource } from '../../core/errors';
import { ClientsByCredential } from '../llm-credentials';
import { providerError, requireApiKey } from '../llm-errors';
import type { BackendClass } from '../../core/registry';
import type { LLMBackend, LLMChatResult, LLMProviderRequest, LLMStreamEvent } from '../llm.backend';
import { chatBody, finishReasonOf, parseArguments, ToolCallAssembler, usageOf } from './openai-mapping';
import { baseURLFor, OPENAI_PRESETS, type OpenAIPreset, type OpenAIPresetInfo } from './openai-presets';
import { responsesChat, responsesStream } from './openai-responses';

/** Keys of local servers that take none: the SDK refuses an empty key, the server ignores this one. */
const NO_KEY = 'no-key';

/**
 * OpenAI's Chat Completions (default) and Responses (model entry `interface: 'responses'`) APIs on
 * the official SDK, and every OpenAI-compatible provider as a preset of it (Groq, DeepSeek,
 * TogetherAI, xAI, Perplexity, Ollama: base URL, auth and quirks, `openai-presets.ts`). One SDK
 * client per credential and base URL (W38); the SDK's own retries are off, the service's apply.
 */
export class OpenAIConnector implements LLMBackend {
  static readonly connectorName: string = 'OpenAI';

  readonly providers: readonly string[];
  private readonly preset: OpenAIPresetInfo;
  private readonly source: SreErrorSource;
  private readonly clients = new ClientsByCredential<OpenAI>();

  constructor(
    _settings: unknown,
    context: ConnectorContext,
    private readonly presetName: OpenAIPreset = 'OpenAI',
  ) {
    this.preset = OPENAI_PRESETS[presetName];
    this.providers = [presetName];
    this.source = sourceOf(context);
  }

  async chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    const client = this.client(request);
    try {
      if (this.usesResponses(request)) return await responsesChat(client, request);
      const completion = await client.chat.completions.create(chatBody(request, this.preset, this.source), {
        signal: request.abortSignal,
      });
      const choice = completion.choices[0];
      const message = choice?.message;
      const reasoning = (message as { reasoning_content?: unknown } | undefined)?.reasoning_content;
      return {
        content: message?.content ?? '',
        toolCalls: (message?.tool_calls ?? [])
          .filter((call) => call.type === 'function')
          .map((call) => ({
            id: call.id,
            name: call.function.name,
            arguments: parseArguments(call.function.arguments),
          })),
        finishReason: finishReasonOf(choice?.finish_reason),
        usage: usageOf(completion.usage),
        ...(typeof reasoning === 'string' && reasoning ? { thinking: reasoning } : {}),
      };
    } catch (error) {
      throw this.failure(error, request);
    }
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    const client = this.client(request);
    if (this.usesResponses(request)) {
      try {
        yield* responsesStream(client, request);
      } catch (error) {
        throw this.failure(error, request);
      }
      return;
    }
    const body = {
      ...chatBody(request, this.preset, this.source),
      stream: true as const,
      ...(this.preset.streamUsage ? { stream_options: { include_usage: true } } : {}),
    };
    const tools = new ToolCallAssembler();
    let finishReason: string | null | undefined;
    let usage: LLMStreamEvent | undefined;
    try {
      const stream = await client.chat.completions.create(body, { signal: request.abortSignal });
      for await (const chunk of stream) {
        // chunks already read stay buffered after an abort: none of them is the caller's any more
        if (request.abortSignal?.aborted) throw request.abortSignal.reason;
        if (chunk.usage) usage = { type: 'usage', usage: usageOf(chunk.usage) };
        const choice = chunk.choices[0];
        if (!choice) continue;
        const delta = choice.delta as typeof choice.delta & { reasoning_content?: string };
        if (delta.reasoning_content) yield { type: 'thinking', delta: delta.reasoning_content };
        if (delta.content) yield { type: 'text', delta: delta.content };
        for (const call of delta.tool_calls ?? []) {
          tools.add(call.index, call.id, call.function?.name, call.function?.arguments);
          yield {
            type: 'tool-call',
            index: call.index,
            ...(call.id ? { id: call.id } : {}),
            ...(call.function?.name ? { name: call.function.name } : {}),
            argumentsDelta: call.function?.arguments ?? '',
          };
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
    } catch (error) {
      throw this.failure(error, request);
    }
    // a stream that stops without its finish chunk was cut: it is no answer
    if (!finishReason) throw this.failure(new Error('the stream ended before the answer was complete'), request);
    if (usage) yield usage;
    yield { type: 'finish', finishReason: finishReasonOf(finishReason), toolCalls: tools.result() };
  }

  async disconnect(): Promise<void> {
    this.clients.clear();
  }

  private usesResponses(request: LLMProviderRequest): boolean {
    return this.presetName === 'OpenAI' && request.context.modelInfo.interface === 'responses';
  }

  private client(request: LLMProviderRequest): OpenAI {
    const apiKey = this.preset.keyRequired
      ? requireApiKey(request, this.source, this.presetName)
      : (request.context.credentials.apiKey as string | undefined) || NO_KEY;
    const baseURL = baseURLFor(this.presetName, request.params.baseURL);
    return this.clients.get({ apiKey, baseURL }, () => {
      const { OpenAI: Client } = require('openai') as typeof import('openai');
      return new Client({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0 });
    });
  }

  private failure(error: unknown, request: LLMProviderRequest) {
    return providerError(error, this.source, this.presetName, request.context.keyHint ?? 'the vault');
  }
}

/** The connector class registered under a preset's name (`Groq`, `Ollama`, ...): the same code, its preset. */
export function openAIConnectorFor(preset: OpenAIPreset): BackendClass<LLMBackend> {
  if (preset === 'OpenAI') return OpenAIConnector;
  const named = {
    [preset]: class extends OpenAIConnector {
      static override readonly connectorName: string = preset;
      constructor(settings: unknown, context: ConnectorContext) {
        super(settings, context, preset);
      }
    },
  };
  return named[preset];
}
