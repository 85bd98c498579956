import type { EventEmitter } from 'node:events';
import { Observable, Subject } from 'rxjs';
import type { ConnectorContext } from '../core/backend';
import { SreInvalidInputError, SreUnavailableError } from '../core/errors';
import type { ModelInfo, ModelReference } from '../models-provider/models-provider.backend';
import {
  clampCompletionTokens,
  maxCompletionTokens,
  type ModelsProviderRequester,
} from '../models-provider/models-provider.service';
import { AccessCandidate } from '../security/access-candidate';
import { SecureService, type SecureServiceDeps } from '../security/secure-service';
import { CallSignal, DEFAULT_LLM_RETRY, withRetries } from './llm-call';
import { keyHintOf, resolveLLMCredentials, type SecretReader } from './llm-credentials';
import { toEmitter, toObservable, toToolData } from './llm-stream';
import { checkStructured, type LLMUsageEvent, usageEventOf } from './llm-usage';
import type {
  ChatResponse,
  FinishReason,
  LLMBackend,
  LLMChatResult,
  LLMMessage,
  LLMProviderRequest,
  LLMResponseFormat,
  LLMStreamEvent,
  LLMTool,
  LLMToolCall,
  LLMToolChoice,
  LLMUsage,
} from './llm.backend';

export type {
  ChatResponse,
  FinishReason,
  LLMBackend,
  LLMChatResult,
  LLMCredentials,
  LLMEvent,
  LLMResponseFormat,
  LLMStreamEvent,
  LLMTool,
  LLMToolCall,
  LLMToolChoice,
  LLMUsage,
  LLMMessage,
  LLMPreparedParams,
  LLMProviderRequest,
  LLMRequestContext,
  ToolData,
} from './llm.backend';
export { ClientsByCredential, INTERNAL_KEY_VARIABLES, resolveLLMCredentials } from './llm-credentials';
export { LLMStructuredOutputError, type LLMUsageEvent } from './llm-usage';
export type { SecretReader } from './llm-credentials';

/** What a caller asks. Unknown parameters pass through to the provider connector. */
export interface LLMParams {
  /** An entry name of the ModelsProvider, or an entry with its `modelId`. */
  model: ModelReference;
  messages?: LLMMessage[];
  prompt?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  /** A list, or one string separated by commas or newlines. */
  stopSequences?: string[] | string;
  /** Attachments; passed by reference, never cloned or serialised. */
  files?: unknown[];
  abortSignal?: AbortSignal;
  [extra: string]: unknown;
}

/** One chat call: the same for every provider. */
export interface LLMChatParams {
  /** An entry name of the ModelsProvider (its `provider` picks the connector), or an entry with its `modelId`. */
  model: ModelReference;
  messages?: LLMMessage[];
  /** A single user message, when there is no conversation. */
  prompt?: string;
  tools?: LLMTool[];
  toolChoice?: LLMToolChoice;
  /** `{ type: 'json_schema', schema }`: the result's `parsed` is the answer, checked against `schema`. */
  responseFormat?: LLMResponseFormat;
  /** Sampling and limits (`maxTokens`, `temperature`, `topP`, `stopSequences`, provider extras). */
  params?: Record<string, unknown>;
  signal?: AbortSignal;
  /** Gives up (an error, not an abort) after this long, retries included. */
  timeoutMs?: number;
  /** Further attempts on 429 / 5xx (default 2), waiting the provider's `retry-after`. */
  maxRetries?: number;
  files?: unknown[];
}

/** The operations of one candidate; model, credentials and limits are resolved for it on every call. */
export interface LLMRequester {
  readonly candidate: AccessCandidate;
  /** One completion: content, tool calls, finish reason and usage in one shape for every provider. */
  chat(params: LLMChatParams): Promise<LLMChatResult>;
  /** Typed events, ending with exactly one `finish` (also on abort and on error); never throws. */
  stream(params: LLMChatParams): AsyncIterable<LLMStreamEvent>;
  /** `stream` as an Observable for `@Sse()` controllers; unsubscribing stops the upstream request. */
  stream$(params: LLMChatParams): Observable<LLMStreamEvent>;
  /** The original's call: `chat` with its parameters at the top level and its response shape. */
  request(params: LLMParams): Promise<ChatResponse>;
  /**
   * Never rejects: a failure before or during the call comes back as a stream that emits `error`
   * (only when someone listens for it) then `end([], [], 'error')`, or `abort` then
   * `end([], [], 'abort')`, after the caller has had a chance to attach listeners.
   */
  streamRequest(params: LLMParams): Promise<EventEmitter>;
  imageGenRequest(params: LLMParams): Promise<unknown>;
  imageEditRequest(params: LLMParams): Promise<unknown>;
}

/** What the LLM service needs of the ModelsProvider subsystem (`ModelsProviderService` fits). */
export interface LLMModelResolver {
  requester(candidate: AccessCandidate): Pick<ModelsProviderRequester, 'getModelInfo'>;
}

/** The subsystems every call consults, as the caller (W38). */
export interface LLMServiceDeps extends SecureServiceDeps {
  /** The callers' API keys (the Vault subsystem). */
  vault: SecretReader;
  /** Model resolution and limits (the ModelsProvider subsystem). */
  modelsProvider: LLMModelResolver;
}

const LIST_PARAMS = new Set([
  'stopSequences',
  'excludedWebsites',
  'allowedWebsites',
  'includedXHandles',
  'excludedXHandles',
  'rssLinks',
]);
// only parameters that are numbers by nature: the original turned every numeric-looking string into a
// number, a prompt of "2024" or a postal code included
const NUMERIC_PARAMS = new Set([
  'maxTokens',
  'temperature',
  'topP',
  'topK',
  'frequencyPenalty',
  'presencePenalty',
  'maxThinkingTokens',
  'seed',
  'maxSearchResults',
  'postFavoriteCount',
  'postViewCount',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function timeoutOf(params: unknown): number | undefined {
  const value = isPlainObject(params) ? params.timeoutMs : undefined;
  return typeof value === 'number' && value > 0 ? value : undefined;
}

function retriesOf(params: unknown): number {
  const value = isPlainObject(params) ? params.maxRetries : undefined;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
    ? Math.min(value, 10)
    : DEFAULT_LLM_RETRY.retries;
}

/**
 * One LLM provider (OpenAI, Anthropic, Echo, ...): what you inject. Not access controlled in the
 * original and without settings of its own: what a call needs comes from the model entry
 * (ModelsProvider, as the caller), the caller's team (Account) and credentials read from the
 * caller's vault, on every call. That preparation is the same for every provider and lives here;
 * the backend only makes the provider calls on the prepared request.
 */
export class LLMService extends SecureService<LLMBackend> {
  private readonly vault: SecretReader;
  private readonly models: LLMModelResolver;
  private readonly usageEvents = new Subject<LLMUsageEvent>();
  /**
   * One `USAGE:LLM` event per call that reached the provider (spec §10.1's shape), for billing:
   * `llm.usage$.subscribe(...)`, or forward it to `@nestjs/event-emitter` with `onUsage`.
   */
  readonly usage$: Observable<LLMUsageEvent> = this.usageEvents.asObservable();

  constructor(backend: LLMBackend, context: ConnectorContext | undefined, deps: LLMServiceDeps) {
    super(backend, context, deps);
    this.vault = deps.vault;
    this.models = deps.modelsProvider;
  }

  /** Calls `listener` with every usage event (e.g. `(e) => emitter.emit('USAGE:LLM', e)`); returns the unsubscriber. */
  onUsage(listener: (event: LLMUsageEvent) => void): () => void {
    const subscription = this.usage$.subscribe(listener);
    return () => subscription.unsubscribe();
  }

  requester(candidate: AccessCandidate): LLMRequester {
    const legacy = (params: LLMParams): LLMChatParams => {
      if (!isPlainObject(params)) return params as never;
      const { abortSignal, model, messages, prompt, files, tools, toolChoice, responseFormat, ...rest } = params;
      return {
        model,
        messages,
        prompt,
        files,
        signal: abortSignal,
        tools: tools as LLMTool[] | undefined,
        toolChoice: toolChoice as LLMToolChoice | undefined,
        responseFormat: responseFormat as LLMResponseFormat | undefined,
        params: rest,
      };
    };
    const stream = (params: LLMChatParams) => this.streamFor(candidate, params);
    return {
      candidate,
      chat: (params) => this.chatFor(candidate, params),
      stream,
      stream$: (params) =>
        toObservable((signal) =>
          stream({
            ...params,
            signal: params.signal ? AbortSignal.any([params.signal, signal]) : signal,
          }),
        ),
      request: async (params) => {
        const result = await this.chatFor(candidate, legacy(params));
        const toolsData = toToolData(result.toolCalls);
        return {
          content: result.content,
          finishReason: result.finishReason,
          ...(result.thinking ? { thinkingContent: result.thinking } : {}),
          usage: { ...result.usage },
          useTool: toolsData.length > 0,
          toolsData,
        };
      },
      streamRequest: async (params) => toEmitter(stream(legacy(params)), this.logger),
      imageGenRequest: async (params) => {
        const request = await this.prepare(candidate, legacy(params));
        const generate = this.backend.imageGenerationRequest?.bind(this.backend);
        if (!generate) throw new SreUnavailableError(`${this.label()} does not generate images`, this.source());
        return this.call('image generation', () => generate(request));
      },
      imageEditRequest: async (params) => {
        const request = await this.prepare(candidate, legacy(params));
        const edit = this.backend.imageEditingRequest?.bind(this.backend);
        if (!edit) throw new SreUnavailableError(`${this.label()} does not edit images`, this.source());
        return this.call('image editing', () => edit(request));
      },
    };
  }

  agent(id: string): LLMRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  user(id: string): LLMRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): LLMRequester {
    return this.requester(AccessCandidate.team(id));
  }

  private async chatFor(candidate: AccessCandidate, params: LLMChatParams): Promise<LLMChatResult> {
    const call = new CallSignal(isPlainObject(params) ? params.signal : undefined, timeoutOf(params));
    try {
      const request = await this.prepare(candidate, params, call.signal);
      const result = await withRetries(async () => this.call('chat', () => this.backend.chat(request)), {
        ...DEFAULT_LLM_RETRY,
        retries: retriesOf(params),
        signal: call.signal,
        onRetry: (error, wait, attempt) =>
          this.logger.warn(`retry ${attempt} in ${wait} ms: ${(error as Error)?.message ?? String(error)}`),
      });
      this.reportUsage(request, result.usage);
      const parsed = checkStructured(request.params.responseFormat, result.content, result.parsed, this.source());
      return parsed === undefined ? result : { ...result, parsed };
    } catch (error) {
      if (call.timedOut()) throw call.timeoutError(this.source());
      throw this.wrap(error, 'chat');
    } finally {
      call.dispose();
    }
  }

  /**
   * The stream of one call. Whatever happens (a refused request, a provider failure, the caller's
   * abort, the timeout, a consumer that stops reading) it ends with one `finish` event, and a
   * consumer that leaves early aborts the upstream request.
   */
  private async *streamFor(candidate: AccessCandidate, params: LLMChatParams): AsyncGenerator<LLMStreamEvent> {
    const call = new CallSignal(isPlainObject(params) ? params.signal : undefined, timeoutOf(params));
    const calls: LLMToolCall[] = [];
    let text = '';
    let usage: LLMUsage | undefined;
    let finish: Extract<LLMStreamEvent, { type: 'finish' }> | undefined;
    let request: LLMProviderRequest | undefined;
    const failed = (error: unknown): Extract<LLMStreamEvent, { type: 'finish' }> => {
      if (call.signal.aborted && !call.timedOut()) return { type: 'finish', finishReason: 'abort', toolCalls: calls };
      const reported = call.timedOut() ? call.timeoutError(this.source()) : this.wrap(error, 'stream');
      return { type: 'finish', finishReason: 'error', toolCalls: calls, error: reported };
    };
    try {
      request = await this.prepare(candidate, params, call.signal);
      if (call.signal.aborted) throw call.signal.reason;
      const prepared = request;
      const source = await withRetries(
        async () => {
          await this.ensureReady();
          const iterator = this.backend.stream(prepared)[Symbol.asyncIterator]();
          // a failure before the first event may be retried; after it, the caller has seen output
          const first = await iterator.next();
          return { iterator, first };
        },
        { ...DEFAULT_LLM_RETRY, retries: retriesOf(params), signal: call.signal },
      );
      let step = source.first;
      try {
        while (!step.done) {
          const event = step.value;
          if (call.signal.aborted) throw call.signal.reason;
          if (event.type === 'finish') {
            finish = event;
            break;
          }
          if (event.type === 'text') text += event.delta;
          if (event.type === 'usage') usage = event.usage;
          yield event;
          step = await source.iterator.next();
        }
      } finally {
        await source.iterator.return?.().catch(() => undefined);
      }
      if (call.signal.aborted) throw call.signal.reason;
      const reason: FinishReason = finish?.finishReason ?? 'stop';
      calls.push(...(finish?.toolCalls ?? []));
      usage = finish?.usage ?? usage;
      const parsed = checkStructured(prepared.params.responseFormat, text, finish?.parsed, this.source());
      finish = { type: 'finish', finishReason: reason, toolCalls: calls, ...(usage ? { usage } : {}) };
      if (parsed !== undefined) finish.parsed = parsed;
    } catch (error) {
      finish = failed(error);
    } finally {
      call.abort();
      call.dispose();
    }
    if (request && usage) this.reportUsage(request, usage);
    yield finish;
  }

  private reportUsage(request: LLMProviderRequest, usage: LLMUsage | undefined): void {
    if (!usage) return;
    try {
      this.usageEvents.next(usageEventOf(request, usage));
    } catch (error) {
      this.logger.warn(`a usage listener failed: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /**
   * The shared preparation of every call: parameters copied (files and the abort signal kept by
   * reference) and normalised, the caller's team resolved (and checked against the id grammar), the
   * model resolved through the ModelsProvider as this caller, credentials read from the vault as
   * this caller, and `maxTokens` clamped to the model's limits (its `keyOptions` limits when the
   * key is the caller's own).
   */
  protected async prepare(
    candidate: AccessCandidate,
    chat: LLMChatParams,
    signal?: AbortSignal,
  ): Promise<LLMProviderRequest> {
    await this.ensureReady();
    if (!isPlainObject(chat)) throw this.invalid('LLM parameters must be an object');
    if (chat.params !== undefined && !isPlainObject(chat.params)) throw this.invalid('params must be an object');
    // the call's own fields win over same-named entries of `params`
    const { files, signal: callerSignal, params: extra, timeoutMs: _t, maxRetries: _r, ...own } = chat;
    const rest: Record<string, unknown> = { ...(extra ?? {}) };
    for (const [key, value] of Object.entries(own)) if (value !== undefined) rest[key] = value;
    const abortSignal = signal ?? callerSignal;
    let copied: Record<string, unknown>;
    try {
      copied = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
    } catch {
      throw this.invalid('LLM parameters must be JSON-serialisable (files and abortSignal apart)');
    }
    const formatted = this.formatParams(copied);
    const model = formatted.model as ModelReference;
    if (!(typeof model === 'string' && model !== '') && !(isPlainObject(model) && typeof model.modelId === 'string')) {
      throw this.invalid('model must be an entry name or an entry with a string modelId');
    }
    const teamId = await this.teamOf(candidate);
    const models = this.models.requester(candidate);
    const resolve = (hasAPIKey: boolean): Promise<ModelInfo> =>
      this.consult('resolving the model', () => models.getModelInfo(model, hasAPIKey));
    let modelInfo = await resolve(false);
    for (const [key, value] of Object.entries(isPlainObject(modelInfo.params) ? modelInfo.params : {})) {
      if (formatted[key] === undefined && key !== '__proto__') formatted[key] = value;
    }
    const credentials = await this.consult('reading credentials', () =>
      resolveLLMCredentials(candidate, modelInfo, this.vault, process.env, this.source()),
    );
    this.checkProvider(modelInfo, model);
    const isUserKey = credentials.isUserKey === true;
    if (isUserKey) modelInfo = await resolve(true);
    const maxTokens =
      typeof formatted.maxTokens === 'number' && formatted.maxTokens > 0
        ? clampCompletionTokens(modelInfo, formatted.maxTokens)
        : maxCompletionTokens(modelInfo);
    const features = Array.isArray(modelInfo.features) ? modelInfo.features : [];
    const modelEntryName = typeof model === 'string' ? model : model.modelId!;
    return {
      abortSignal,
      params: {
        ...formatted,
        ...(files !== undefined ? { files } : {}),
        model: modelInfo.modelId,
        modelEntryName,
        maxTokens,
        baseURL: modelInfo.baseURL,
        capabilities: {
          search: features.includes('search'),
          reasoning: features.includes('reasoning'),
          imageGeneration: features.includes('image-generation'),
        },
      },
      context: {
        modelEntryName,
        agentId: candidate.id,
        teamId,
        isUserKey,
        hasFiles: Array.isArray(files) && files.length > 0,
        modelInfo,
        credentials,
        keyHint: keyHintOf(modelInfo),
      },
    };
  }

  /** A connector that serves named providers never gets another provider's model. */
  private checkProvider(modelInfo: ModelInfo, model: ModelReference): void {
    const served = this.backend.providers;
    const provider = modelInfo.provider ?? modelInfo.llm;
    if (!served || typeof provider !== 'string') return;
    if (served.some((name) => name.toLowerCase() === provider.toLowerCase())) return;
    const name = typeof model === 'string' ? model : model.modelId;
    throw this.invalid(
      `model '${name}' belongs to provider '${provider}'; ${this.label()} serves ${served.join(', ')} (configure the ProviderRouter connector to route by provider)`,
    );
  }

  /**
   * Asks another subsystem (ModelsProvider, Vault) on the caller's behalf. Their typed errors pass
   * unchanged (they name their own subsystem); anything else is reported as this one's.
   */
  private async consult<T>(doing: string, ask: () => Promise<T>): Promise<T> {
    try {
      return await ask();
    } catch (error) {
      throw this.wrap(error, doing);
    }
  }

  private formatParams(params: Record<string, unknown>): Record<string, unknown> {
    // built with fromEntries: a parameter named `__proto__` stays a parameter, not a prototype
    return Object.fromEntries(Object.entries(params).map(([key, value]) => [key, this.formatParam(key, value)]));
  }

  private formatParam(key: string, value: unknown): unknown {
    if (LIST_PARAMS.has(key)) {
      if (typeof value === 'string')
        return value
          .split(/[,\n]/)
          .map((item) => item.trim())
          .filter(Boolean);
      return value !== undefined && value !== null && !Array.isArray(value) ? [value] : value;
    }
    if (NUMERIC_PARAMS.has(key) && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
      return Number(value);
    if (key === 'messages' && Array.isArray(value) && this.backend.normaliseMessages) {
      try {
        return this.backend.normaliseMessages(value as LLMMessage[]);
      } catch (error) {
        throw this.wrap(error, 'normalising messages');
      }
    }
    return value;
  }

  private invalid(why: string): SreInvalidInputError {
    return new SreInvalidInputError(why, this.source());
  }
}
