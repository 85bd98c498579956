import { EventEmitter } from 'node:events';
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
import { resolveLLMCredentials, type SecretReader } from './llm-credentials';
import type { ChatResponse, LLMBackend, LLMMessage, LLMProviderRequest } from './llm.backend';

export type {
  ChatResponse,
  FinishReason,
  LLMBackend,
  LLMCredentials,
  LLMEvent,
  LLMMessage,
  LLMPreparedParams,
  LLMProviderRequest,
  LLMRequestContext,
  ToolData,
} from './llm.backend';
export { ClientsByCredential, INTERNAL_KEY_VARIABLES, resolveLLMCredentials } from './llm-credentials';
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

/** The operations of one candidate; model, credentials and limits are resolved for it on every call. */
export interface LLMRequester {
  readonly candidate: AccessCandidate;
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

  constructor(backend: LLMBackend, context: ConnectorContext | undefined, deps: LLMServiceDeps) {
    super(backend, context, deps);
    this.vault = deps.vault;
    this.models = deps.modelsProvider;
  }

  requester(candidate: AccessCandidate): LLMRequester {
    return {
      candidate,
      request: async (params) => {
        const request = await this.prepare(candidate, params);
        return this.call('chat request', () => this.backend.chatRequest(request));
      },
      streamRequest: async (params) => {
        let request: LLMProviderRequest | undefined;
        try {
          request = await this.prepare(candidate, params);
          const prepared = request;
          if (prepared.abortSignal?.aborted) return this.failedStream('abort', prepared.abortSignal.reason);
          return await this.call('stream request', () => this.backend.streamChatRequest(prepared));
        } catch (error) {
          const signal =
            request?.abortSignal ??
            (isPlainObject(params) ? (params.abortSignal as AbortSignal | undefined) : undefined);
          return signal?.aborted
            ? this.failedStream('abort', signal.reason ?? error)
            : this.failedStream('error', error);
        }
      },
      imageGenRequest: async (params) => {
        const request = await this.prepare(candidate, params);
        const generate = this.backend.imageGenerationRequest?.bind(this.backend);
        if (!generate) throw new SreUnavailableError(`${this.label()} does not generate images`, this.source());
        return this.call('image generation', () => generate(request));
      },
      imageEditRequest: async (params) => {
        const request = await this.prepare(candidate, params);
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

  /**
   * The shared preparation of every call: parameters copied (files and the abort signal kept by
   * reference) and normalised, the caller's team resolved (and checked against the id grammar), the
   * model resolved through the ModelsProvider as this caller, credentials read from the vault as
   * this caller, and `maxTokens` clamped to the model's limits (its `keyOptions` limits when the
   * key is the caller's own).
   */
  protected async prepare(candidate: AccessCandidate, params: LLMParams): Promise<LLMProviderRequest> {
    await this.ensureReady();
    if (!isPlainObject(params)) throw this.invalid('LLM parameters must be an object');
    const { files, abortSignal, ...rest } = params;
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
      },
    };
  }

  /** A stream that only reports a failure, once listeners had a chance to attach. */
  protected failedStream(reason: 'error' | 'abort', error: unknown): EventEmitter {
    const stream = new EventEmitter();
    setImmediate(() => {
      if (reason === 'abort')
        stream.emit('abort', error ?? new DOMException('This operation was aborted', 'AbortError'));
      else if (stream.listenerCount('error') > 0) stream.emit('error', error);
      else
        this.logger.warn(
          `stream failed with nobody listening for 'error': ${this.redact(error instanceof Error ? error.message : String(error))}`,
        );
      stream.emit('end', [], [], reason);
    });
    return stream;
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
