import { SreBackendError, type SreErrorSource } from '../core/errors';
import { extractJson, schemaProblems } from './json-schema';
import type { LLMProviderRequest, LLMResponseFormat, LLMUsage } from './llm.backend';

/** The original's `USAGE:LLM` system event (spec §10.1), one per call that reached the provider. */
export interface LLMUsageEvent {
  sourceId: string;
  input_tokens: number;
  output_tokens: number;
  input_tokens_cache_write: number;
  input_tokens_cache_read: number;
  keySource: 'user-managed' | 'smyth-managed';
  agentId: string;
  teamId?: string;
}

export function usageEventOf(request: LLMProviderRequest, usage: LLMUsage): LLMUsageEvent {
  const { context } = request;
  return {
    sourceId: `llm:${context.modelEntryName.replace(/^smythos\//, '')}`,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    input_tokens_cache_write: usage.cacheWriteTokens ?? 0,
    input_tokens_cache_read: usage.cacheReadTokens ?? 0,
    keySource: context.isUserKey ? 'user-managed' : 'smyth-managed',
    agentId: context.agentId,
    teamId: context.teamId,
  };
}

/** The model's answer is not the JSON the `responseFormat` asked for. */
export class LLMStructuredOutputError extends SreBackendError {
  constructor(
    message: string,
    source: SreErrorSource,
    readonly problems: readonly string[],
  ) {
    super(message, source);
  }
}

/**
 * The parsed answer of a JSON `responseFormat` (`undefined` for text), checked against its schema
 * whether the provider enforced it natively or was only instructed to follow it.
 */
export function checkStructured(
  format: LLMResponseFormat | undefined,
  content: string,
  parsed: unknown,
  source: SreErrorSource,
): unknown {
  if (!format || format.type === 'text') return undefined;
  let value = parsed;
  if (value === undefined) {
    try {
      value = extractJson(content);
    } catch {
      throw new LLMStructuredOutputError(
        `LLM(${source.connector}): the model's answer is not JSON (a JSON response was asked for)`,
        source,
        ['$: not JSON'],
      );
    }
  }
  const problems = format.type === 'json_schema' ? schemaProblems(format.schema, value) : [];
  if (format.type === 'json' && (typeof value !== 'object' || value === null)) problems.push('$: must be an object');
  if (problems.length)
    throw new LLMStructuredOutputError(
      `LLM(${source.connector}): the model's answer does not match the response schema: ${problems.slice(0, 5).join('; ')}`,
      source,
      problems,
    );
  return value;
}

/** What a provider without native structured output is told, appended to its system prompt. */
export function structuredInstruction(format: LLMResponseFormat | undefined): string | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json') return 'Answer with a single JSON object and nothing else.';
  return `Answer with a single JSON value that matches this JSON schema, and nothing else (no prose, no code fence):\n${JSON.stringify(format.schema)}`;
}
