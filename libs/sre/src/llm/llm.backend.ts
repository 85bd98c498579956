import type { SreBackend } from '../core/backend';
import type { ModelInfo } from '../models-provider/models-provider.backend';

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

/** A tool call the model asked for; `arguments` parsed from the provider's JSON. */
export interface LLMToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/**
 * One message of a conversation, the same for every provider: `assistant` messages may carry the
 * tool calls the model made, `tool` messages answer one of them by `toolCallId`.
 */
export interface LLMMessage {
  role: string;
  content?: unknown;
  toolCalls?: LLMToolCall[];
  toolCallId?: string;
  [extra: string]: unknown;
}

/** A function the model may call; `parameters` is a JSON schema of its arguments. */
export interface LLMTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export type LLMToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** `json_schema`: the answer is a JSON value checked against `schema`; `json`: any JSON object. */
export type LLMResponseFormat =
  | { type: 'json_schema'; schema: Record<string, unknown>; name?: string; strict?: boolean }
  | { type: 'json' }
  | { type: 'text' };

export interface LLMUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** The answer of one call, in one shape for every provider. */
export interface LLMChatResult {
  content: string;
  toolCalls: LLMToolCall[];
  finishReason: FinishReason;
  usage: LLMUsage;
  thinking?: string;
  /** With a `responseFormat` of JSON: the parsed (and, for `json_schema`, checked) answer. */
  parsed?: unknown;
}

/**
 * What a stream yields. `finish` is the terminal event: exactly one, last, also after an abort
 * (`finishReason: 'abort'`) or a failure (`finishReason: 'error'` with `error`).
 */
export type LLMStreamEvent =
  | { type: 'text'; delta: string }
  | { type: 'thinking'; delta: string }
  | { type: 'tool-call'; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: 'usage'; usage: LLMUsage }
  | {
      type: 'finish';
      finishReason: FinishReason;
      toolCalls: LLMToolCall[];
      usage?: LLMUsage;
      parsed?: unknown;
      error?: Error;
    };

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
  tools?: LLMTool[];
  toolChoice?: LLMToolChoice;
  responseFormat?: LLMResponseFormat;
  [extra: string]: unknown;
}

export interface LLMRequestContext {
  modelEntryName: string;
  /** The caller's id, whatever its role (the original's convention). */
  agentId: string;
  /** The caller's team, as the Account subsystem resolved it (a valid team id), if any. */
  teamId?: string;
  isUserKey: boolean;
  hasFiles: boolean;
  modelInfo: ModelInfo;
  /** Resolved for this caller and this call: never cached across callers (W38). */
  credentials: LLMCredentials;
  /** Where the key is looked up (vault key names, environment variable), for error messages; never the key. */
  keyHint?: string;
}

/**
 * One call as the service prepared it for the backend: who asked is already decided (the caller's
 * team, model and credentials are resolved in `context`), so a backend never sees a candidate.
 */
export interface LLMProviderRequest {
  readonly params: LLMPreparedParams;
  readonly context: LLMRequestContext;
  readonly abortSignal?: AbortSignal;
}

/**
 * What an LLM connector implements: the provider calls, on requests the service has prepared
 * (parameters normalised, model resolved through ModelsProvider as the caller, credentials read
 * from the caller's vault, tokens clamped). A connector that caches SDK clients keys them by the
 * request's credentials (`ClientsByCredential`), never by connector (W38). Retries, timeouts, the
 * terminal stream event, structured-output checks and usage reporting are the service's.
 */
export interface LLMBackend extends SreBackend {
  /**
   * The providers (ModelsProvider `provider` names) this connector serves: the service refuses a
   * model of another provider. Absent: it takes every model (a router, a custom backend).
   */
  readonly providers?: readonly string[];
  /** One completion. Throws `SreRateLimitError` / `SreAuthError` for 429 / 401 so the service can act. */
  chat(request: LLMProviderRequest): Promise<LLMChatResult>;
  /**
   * A streamed completion: deltas, then a `finish` event. Stops reading (and closes the upstream
   * request) when `abortSignal` fires; may simply throw, the service reports it as the terminal event.
   */
  stream(request: LLMProviderRequest): AsyncIterable<LLMStreamEvent>;
  /** Absent: the service answers `SreUnavailableError` ("does not generate images"). */
  imageGenerationRequest?(request: LLMProviderRequest): Promise<unknown>;
  /** Absent: the service answers `SreUnavailableError` ("does not edit images"). */
  imageEditingRequest?(request: LLMProviderRequest): Promise<unknown>;
  /** Brings messages into the shape the provider accepts (alternating roles, merged system prompts...). */
  normaliseMessages?(messages: LLMMessage[]): LLMMessage[];
}

/** Every required operation of `LLMBackend` (a custom connector lacking one is refused at boot). */
export const LLM_OPERATIONS = ['chat', 'stream'] as const;
