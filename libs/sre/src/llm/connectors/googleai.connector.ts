/* eslint-disable @typescript-eslint/no-require-imports -- the Google SDK loads when this connector is first used */
import type { GoogleGenAI } from '@google/genai';
import { sourceOf, type ConnectorContext } from '../../core/backend';
import { SreRateLimitError, type SreErrorSource } from '../../core/errors';
import { ClientsByCredential } from '../llm-credentials';
import { providerError, requireApiKey, statusOf } from '../llm-errors';
import type {
  LLMBackend,
  LLMChatResult,
  LLMProviderRequest,
  LLMStreamEvent,
  LLMToolCall,
  LLMUsage,
} from '../llm.backend';
import { callOf, finishReasonOf, generateParams, usageOf } from './googleai-mapping';

/**
 * The SDK hands Node's fetch a dispatcher built over undici's global one, which it finds on
 * `globalThis`; inside a vm context (Jest) that global is not there and every call fails with
 * "fetch failed". There the SDK is given the context's own fetch instead.
 */
function undiciDispatcherVisible(): boolean {
  const key = Symbol.for('undici.globalDispatcher.1');
  if (!(key in globalThis) && typeof Headers !== 'undefined') new Headers();
  return typeof (globalThis as Record<symbol, { dispatch?: unknown } | undefined>)[key]?.dispatch === 'function';
}

/**
 * Google's Generative Language API (Gemini) on `@google/genai`: text, thought and functionCall
 * parts, native JSON schema output, and `streamGenerateContent`. One client per key and base URL
 * (W38); the SDK does not retry unless asked, the service's retries apply.
 */
export class GoogleAIConnector implements LLMBackend {
  static readonly connectorName = 'GoogleAI';
  readonly providers = ['GoogleAI'] as const;
  private readonly source: SreErrorSource;
  private readonly clients = new ClientsByCredential<GoogleGenAI>();

  constructor(_settings: unknown, context: ConnectorContext) {
    this.source = sourceOf(context);
  }

  async chat(request: LLMProviderRequest): Promise<LLMChatResult> {
    const client = this.client(request);
    try {
      const response = await client.models.generateContent(generateParams(request, request.abortSignal));
      const candidate = response.candidates?.[0];
      let content = '';
      let thinking = '';
      const toolCalls: LLMToolCall[] = [];
      for (const part of candidate?.content?.parts ?? []) {
        const call = callOf(part, toolCalls.length);
        if (call) toolCalls.push(call);
        else if (part.thought && part.text) thinking += part.text;
        else if (part.text) content += part.text;
      }
      return {
        content,
        toolCalls,
        finishReason: finishReasonOf(candidate?.finishReason, toolCalls.length > 0),
        usage: usageOf(response.usageMetadata),
        ...(thinking ? { thinking } : {}),
      };
    } catch (error) {
      throw this.failure(error, request);
    }
  }

  async *stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent> {
    const client = this.client(request);
    const toolCalls: LLMToolCall[] = [];
    let usage: LLMUsage | undefined;
    let finish: string | undefined;
    try {
      const stream = await client.models.generateContentStream(generateParams(request, request.abortSignal));
      for await (const chunk of stream) {
        if (request.abortSignal?.aborted) throw request.abortSignal.reason;
        const candidate = chunk.candidates?.[0];
        for (const part of candidate?.content?.parts ?? []) {
          const call = callOf(part, toolCalls.length);
          if (call) {
            toolCalls.push(call);
            const index = toolCalls.length - 1;
            yield {
              type: 'tool-call',
              index,
              id: call.id,
              name: call.name,
              argumentsDelta: JSON.stringify(call.arguments),
            };
          } else if (part.thought && part.text) yield { type: 'thinking', delta: part.text };
          else if (part.text) yield { type: 'text', delta: part.text };
        }
        if (chunk.usageMetadata) usage = usageOf(chunk.usageMetadata);
        if (candidate?.finishReason) finish = candidate.finishReason;
      }
    } catch (error) {
      throw this.failure(error, request);
    }
    // no finish reason: the stream was cut before the answer was complete
    if (!finish) throw this.failure(new Error('the stream ended before the answer was complete'), request);
    if (usage) yield { type: 'usage', usage };
    yield { type: 'finish', finishReason: finishReasonOf(finish, toolCalls.length > 0), toolCalls };
  }

  async disconnect(): Promise<void> {
    this.clients.clear();
  }

  private client(request: LLMProviderRequest): GoogleGenAI {
    const apiKey = requireApiKey(request, this.source, 'GoogleAI');
    const baseUrl = request.params.baseURL;
    return this.clients.get({ apiKey, baseUrl }, () => {
      const { GoogleGenAI: Client } = require('@google/genai') as typeof import('@google/genai');
      const fetch = undiciDispatcherVisible() ? undefined : globalThis.fetch.bind(globalThis);
      const httpOptions = { ...(baseUrl ? { baseUrl } : {}), ...(fetch ? { fetch } : {}) };
      return new Client({ apiKey, ...(Object.keys(httpOptions).length ? { httpOptions } : {}) });
    });
  }

  /**
   * Google reports an invalid key as a 400 (reason API_KEY_INVALID) and the wait of a 429 in the
   * body's RetryInfo rather than a header: both are read from the error's JSON message.
   */
  private failure(error: unknown, request: LLMProviderRequest) {
    const message = typeof (error as Error)?.message === 'string' ? (error as Error).message : '';
    const status = statusOf(error);
    const hint = request.context.keyHint ?? 'the vault';
    if (status === 400 && message.includes('API_KEY_INVALID'))
      return providerError(Object.assign(new Error(message), { status: 401 }), this.source, 'GoogleAI', hint);
    const typed = providerError(error, this.source, 'GoogleAI', hint);
    const delay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message)?.[1];
    if (typed instanceof SreRateLimitError && typed.retryAfterMs === undefined && delay !== undefined)
      return new SreRateLimitError(typed.message, this.source, Number(delay) * 1000, { cause: error });
    return typed;
  }
}
