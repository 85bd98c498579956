import type { LLMMessage, LLMPreparedParams } from '../llm.backend';

/** The text of a message's content: a string, or the text parts of a content list. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((part) => (typeof part === 'string' ? part : typeof part?.text === 'string' ? part.text : ''))
      .join('');
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

/** The conversation of a request: its messages, else its prompt as one user message. */
export function conversationOf(params: LLMPreparedParams): LLMMessage[] {
  if (Array.isArray(params.messages) && params.messages.length) return params.messages;
  return typeof params.prompt === 'string' ? [{ role: 'user', content: params.prompt }] : [];
}

/** A rough token count (4 characters a token) for connectors whose provider reports none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
