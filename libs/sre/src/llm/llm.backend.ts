import type { EventEmitter } from 'node:events';
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

export interface LLMMessage {
  role: string;
  content?: unknown;
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
  /** The caller's id, whatever its role (the original's convention). */
  agentId: string;
  /** The caller's team, as the Account subsystem resolved it (a valid team id), if any. */
  teamId?: string;
  isUserKey: boolean;
  hasFiles: boolean;
  modelInfo: ModelInfo;
  /** Resolved for this caller and this call: never cached across callers (W38). */
  credentials: LLMCredentials;
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
 * request's credentials (`ClientsByCredential`), never by connector (W38).
 */
export interface LLMBackend extends SreBackend {
  /** One chat completion. */
  chatRequest(request: LLMProviderRequest): Promise<ChatResponse>;
  /**
   * A streamed completion: emits `LLMEvent`s and `end` exactly once, last (after `error`, or after
   * `abort` with finish reason `abort` when `abortSignal` fires). May reject before streaming: the
   * service turns that into a stream that reports the failure.
   */
  streamChatRequest(request: LLMProviderRequest): Promise<EventEmitter>;
  /** Absent: the service answers `SreUnavailableError` ("does not generate images"). */
  imageGenerationRequest?(request: LLMProviderRequest): Promise<unknown>;
  /** Absent: the service answers `SreUnavailableError` ("does not edit images"). */
  imageEditingRequest?(request: LLMProviderRequest): Promise<unknown>;
  /** Brings messages into the shape the provider accepts (alternating roles, merged system prompts...). */
  normaliseMessages?(messages: LLMMessage[]): LLMMessage[];
}

/** Every required operation of `LLMBackend` (a custom connector lacking one is refused at boot). */
export const LLM_OPERATIONS = ['chatRequest', 'streamChatRequest'] as const;
