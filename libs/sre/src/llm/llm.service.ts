import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import { SreConnector } from '../core/connector';
import { SreAccessDeniedError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import {
  clampCompletionTokens,
  maxCompletionTokens,
  ModelEntry,
  ModelInfo,
  ModelReference,
  ModelsProviderRequester,
  resolveModelInfo,
} from '../models-provider/models-provider.service';

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'abort' | 'error' | 'unknown';

/** Events a stream emits; `end` carries `(toolsData, usageData, finishReason)` and comes exactly once, last. */
export type LLMEvent =
  | 'data'
  | 'content'
  | 'thinking'
  | 'end'
  | 'abort'
  | 'error'
  | 'toolInfo'
  | 'toolCall'
  | 'toolResult'
  | 'usage'
  | 'interrupted'
  | 'fallback'
  | 'requested';

export interface ToolData {
  index: number;
  id: string;
  type: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

export interface ChatResponse {
  content: string;
  finishReason: FinishReason;
  thinkingContent?: string;
  usage?: Record<string, unknown>;
  useTool?: boolean;
  toolsData?: ToolData[];
  message?: unknown;
}

export interface LLMMessage {
  role: string;
  content?: unknown;
  [extra: string]: unknown;
}

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

/** Resolved credentials: an API key, AWS keys or a service account, per the model's credentials mode. */
export interface LLMCredentials {
  apiKey?: string;
  /** The key belongs to the caller (from its team's vault), not to the platform. */
  isUserKey?: boolean;
  [extra: string]: unknown;
}

/** The parameters after the shared preparation: defaults filled, model resolved, tokens clamped. */
export interface LLMPreparedParams {
  /** The provider-side model id. */
  model: string;
  modelEntryName: string;
  maxTokens: number;
  baseURL?: string;
  capabilities: { search: boolean; reasoning: boolean; imageGeneration: boolean };
  messages?: LLMMessage[];
  prompt?: string;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
  files?: unknown[];
  [extra: string]: unknown;
}

export interface LLMRequestContext {
  modelEntryName: string;
  /** The candidate's id, whatever its role (the original's convention). */
  agentId: string;
  teamId?: string;
  isUserKey: boolean;
  hasFiles: boolean;
  modelInfo: ModelInfo;
  /** Resolved for this caller and this call: never cached across callers (W38). */
  credentials: LLMCredentials;
}

/** What a provider connector receives for one call. */
export interface LLMProviderRequest {
  readonly candidate: AccessCandidate;
  readonly params: LLMPreparedParams;
  readonly context: LLMRequestContext;
  readonly abortSignal?: AbortSignal;
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

/** What credential resolution needs from the Vault subsystem (`VaultService` fits). */
export interface SecretReader {
  requester(candidate: AccessCandidate): { get(key: string): Promise<string | undefined> };
}

/** Environment variables of the `internal` mode, by lower-cased provider (read at call time). */
export const INTERNAL_KEY_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  googleai: 'GOOGLE_AI_API_KEY',
  togetherai: 'TOGETHER_AI_API_KEY',
  groq: 'GROQ_API_KEY',
  xai: 'XAI_API_KEY',
  perplexity: 'PERPLEXITY_API_KEY',
});

const KEY_TEMPLATE = /\{\{\s*KEY\(\s*([^)}]+?)\s*\)\s*\}\}/g;
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
 * The credentials of one call, resolved for the calling candidate (§10.2 of the spec): a credentials
 * object has its `{{KEY(name)}}` templates filled from the caller's vault (a missing key gives
 * `''`); `none` gives an empty key; `internal` the platform's environment key; `vault` the team's
 * key named after the provider; `bedrock_vault` and `vertexai_vault` the keys named in the model's
 * settings. Modes in a list are tried in order; nothing found gives `{}`. A vault that denies the
 * caller counts as "no key"; a vault that fails throws, so that an outage never silently falls back
 * to the platform's key. Malformed VertexAI credentials are reported, not parsed blindly (W57).
 */
export async function resolveLLMCredentials(
  candidate: AccessCandidate,
  model: ModelEntry,
  vault: SecretReader | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LLMCredentials> {
  const provider = String(model.provider ?? model.llm ?? '').toLowerCase();
  const modes = Array.isArray(model.credentials) ? model.credentials : [model.credentials ?? 'internal'];
  const read = async (key: unknown): Promise<string> => {
    if (typeof key !== 'string' || key === '' || !vault) return '';
    try {
      return (await vault.requester(candidate).get(key)) ?? '';
    } catch (error) {
      if (error instanceof SreAccessDeniedError) return '';
      throw error;
    }
  };
  const fill = async (value: unknown): Promise<unknown> => {
    if (typeof value === 'string') {
      const names = [...new Set([...value.matchAll(KEY_TEMPLATE)].map((match) => match[1]))];
      if (names.length === 0) return value;
      const values = new Map(await Promise.all(names.map(async (name) => [name, await read(name)] as const)));
      return value.replace(KEY_TEMPLATE, (_, name: string) => values.get(name) ?? '');
    }
    if (Array.isArray(value)) return Promise.all(value.map(fill));
    if (isPlainObject(value))
      return Object.fromEntries(
        await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await fill(item)] as const)),
      );
    return value;
  };
  const settings = isPlainObject(model.settings) ? model.settings : {};
  for (const mode of modes) {
    if (isPlainObject(mode)) return (await fill(mode)) as LLMCredentials;
    switch (mode) {
      case 'none':
        return { apiKey: '' };
      case 'internal': {
        const variable = INTERNAL_KEY_VARIABLES[provider];
        const apiKey = variable ? env[variable] : undefined;
        if (apiKey) return { apiKey };
        break;
      }
      case 'vault': {
        const apiKey = await read(provider);
        if (apiKey) return { apiKey, isUserKey: true };
        break;
      }
      case 'bedrock_vault': {
        const [accessKeyId, secretAccessKey, sessionToken] = await Promise.all([
          read(settings.keyIDName),
          read(settings.secretKeyName),
          read(settings.sessionKeyName),
        ]);
        if (accessKeyId && secretAccessKey)
          return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), isUserKey: true };
        break;
      }
      case 'vertexai_vault': {
        const text = await read(settings.jsonCredentialsName);
        if (!text) break;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (!isPlainObject(parsed))
          throw new SreInvalidInputError(
            `the VertexAI credentials in vault key '${String(settings.jsonCredentialsName)}' are not a JSON object`,
          );
        return { ...parsed, isUserKey: true };
      }
      default:
        throw new SreInvalidInputError(
          `unknown credentials mode '${String(mode)}' (use vault, internal, none, bedrock_vault, vertexai_vault or an object)`,
        );
    }
  }
  return {};
}

/**
 * SDK clients keyed by the credentials they were built with: one client per distinct credential set,
 * never one client for everyone built with the first caller's key (W38). Keys are SHA-256 digests,
 * so no secret is kept as a map key; the least recently used clients are dropped beyond `max`.
 */
export class ClientsByCredential<T extends object> {
  private readonly clients: LRUCache<string, T>;

  constructor(options: { max?: number; dispose?: (client: T) => void } = {}) {
    const dispose = options.dispose;
    this.clients = new LRUCache<string, T>({
      max: options.max ?? 100,
      ...(dispose ? { dispose: (client: T) => dispose(client) } : {}),
    });
  }

  get(credentials: object, create: () => T): T {
    const key = createHash('sha256').update(stableJson(credentials)).digest('hex');
    let client = this.clients.get(key);
    if (client === undefined) {
      client = create();
      this.clients.set(key, client);
    }
    return client;
  }

  get size(): number {
    return this.clients.size;
  }

  clear(): void {
    this.clients.clear();
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * One LLM provider (OpenAI, Anthropic, Echo, ...): the contract, the injection token, and the base
 * class of every LLM connector. Not access controlled and without settings of its own in the
 * original: what a call needs comes from the model entry (ModelsProvider) and from credentials
 * resolved for the caller on every call. That preparation is the same for every provider and lives
 * here; a connector implements the provider calls. A connector that caches SDK clients keys them by
 * credentials (`ClientsByCredential`), never by connector (W38).
 */
export abstract class LLMService extends SreConnector {
  /** One chat completion. */
  protected abstract chatRequest(request: LLMProviderRequest): Promise<ChatResponse>;
  /**
   * A streamed completion: emits `LLMEvent`s and `end` exactly once, last (after `error` or `abort`
   * when the call fails or is aborted). May reject before streaming: the base turns that into the
   * failed stream described on `LLMRequester.streamRequest`.
   */
  protected abstract streamChatRequest(request: LLMProviderRequest): Promise<EventEmitter>;

  protected imageGenerationRequest(_request: LLMProviderRequest): Promise<unknown> {
    return Promise.reject(new SreUnavailableError(`${this.label()} does not generate images`, this.source()));
  }

  protected imageEditingRequest(_request: LLMProviderRequest): Promise<unknown> {
    return Promise.reject(new SreUnavailableError(`${this.label()} does not edit images`, this.source()));
  }

  /** Brings messages into the shape the provider accepts (alternating roles, merged system prompts...). */
  protected normaliseMessages(messages: LLMMessage[]): LLMMessage[] {
    return messages;
  }

  requester(candidate: AccessCandidate): LLMRequester {
    return {
      candidate,
      request: async (params) => this.chatRequest(await this.prepare(candidate, params)),
      streamRequest: async (params) => {
        let request: LLMProviderRequest | undefined;
        try {
          request = await this.prepare(candidate, params);
          if (request.abortSignal?.aborted) return this.failedStream('abort', request.abortSignal.reason);
          return await this.streamChatRequest(request);
        } catch (error) {
          const signal =
            request?.abortSignal ??
            (isPlainObject(params) ? (params.abortSignal as AbortSignal | undefined) : undefined);
          return signal?.aborted
            ? this.failedStream('abort', signal.reason ?? error)
            : this.failedStream('error', error);
        }
      },
      imageGenRequest: async (params) => this.imageGenerationRequest(await this.prepare(candidate, params)),
      imageEditRequest: async (params) => this.imageEditingRequest(await this.prepare(candidate, params)),
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
   * reference) and normalised, the model resolved through the ModelsProvider as this candidate,
   * credentials resolved for this candidate, and `maxTokens` clamped to the model's limits (its
   * `keyOptions` limits when the key is the caller's own).
   */
  protected async prepare(candidate: AccessCandidate, params: LLMParams): Promise<LLMProviderRequest> {
    const pending = this.ensureReady();
    if (pending) await pending;
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
    const models = this.modelsFor(candidate);
    let modelInfo = await models.getModelInfo(model);
    for (const [key, value] of Object.entries(isPlainObject(modelInfo.params) ? modelInfo.params : {})) {
      if (formatted[key] === undefined) formatted[key] = value;
    }
    const credentials = await resolveLLMCredentials(
      candidate,
      modelInfo,
      this.context.deps.vault as SecretReader | undefined,
    );
    const isUserKey = credentials.isUserKey === true;
    if (isUserKey) modelInfo = await models.getModelInfo(model, true);
    const maxTokens =
      typeof formatted.maxTokens === 'number' && formatted.maxTokens > 0
        ? clampCompletionTokens(modelInfo, formatted.maxTokens)
        : maxCompletionTokens(modelInfo);
    const features = Array.isArray(modelInfo.features) ? modelInfo.features : [];
    const modelEntryName = typeof model === 'string' ? model : model.modelId!;
    return {
      candidate,
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

  private formatParams(params: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) {
      let next = value;
      if (LIST_PARAMS.has(key)) {
        if (typeof next === 'string')
          next = next
            .split(/[,\n]/)
            .map((item) => item.trim())
            .filter(Boolean);
        else if (next !== undefined && next !== null && !Array.isArray(next)) next = [next];
      } else if (
        NUMERIC_PARAMS.has(key) &&
        typeof next === 'string' &&
        next.trim() !== '' &&
        !Number.isNaN(Number(next))
      ) {
        next = Number(next);
      } else if (key === 'messages' && Array.isArray(next)) {
        next = this.normaliseMessages(next as LLMMessage[]);
      }
      out[key] = next;
    }
    return out;
  }

  private modelsFor(candidate: AccessCandidate): Pick<ModelsProviderRequester, 'getModelInfo'> {
    const provider = this.context.deps.modelsProvider as
      { requester(candidate: AccessCandidate): ModelsProviderRequester } | undefined;
    if (provider) return provider.requester(candidate);
    // without a ModelsProvider a name is its own model id and an entry stands for itself
    return { getModelInfo: async (model, hasAPIKey) => resolveModelInfo({}, model, hasAPIKey) };
  }

  private async teamOf(candidate: AccessCandidate): Promise<string | undefined> {
    if (candidate.role === 'team') return candidate.id;
    try {
      return await (this.context.deps.account as TeamResolver | undefined)?.getCandidateTeam(candidate);
    } catch {
      return undefined;
    }
  }

  private invalid(why: string): SreInvalidInputError {
    return new SreInvalidInputError(why, this.source());
  }
}
