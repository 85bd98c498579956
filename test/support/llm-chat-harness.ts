import { createConnectorContext } from '../../libs/sre/src/core/backend';
import type { SecretReader } from '../../libs/sre/src/llm/llm-credentials';
import type { LLMBackend, LLMStreamEvent } from '../../libs/sre/src/llm/llm.backend';
import { LLMService } from '../../libs/sre/src/llm/llm.service';
import type { ModelMap } from '../../libs/sre/src/models-provider/models-provider.backend';
import { ModelsProviderService } from '../../libs/sre/src/models-provider/models-provider.service';
import type { AccessCandidate } from '../../libs/sre/src/security/access-candidate';
import { MemoryModelsProviderBackend } from '../../libs/sre/src/testing/backends/memory-models-provider.backend';

/**
 * An LLMService over one backend, as the module builds it: models from a map, each team's vault
 * from `vaults` (a team candidate acts for itself; an agent `<team>.x` for `<team>`), every vault
 * read recorded by key.
 */
export function llmServiceOver(
  backend: LLMBackend,
  models: ModelMap,
  vaults: Record<string, Record<string, string>>,
  connector = 'Test',
): { service: LLMService; vaultReads: string[] } {
  const vaultReads: string[] = [];
  const teamOf = (candidate: AccessCandidate) =>
    candidate.role === 'team' ? candidate.id : candidate.id.split('.')[0];
  const account = { getCandidateTeam: async (candidate: AccessCandidate) => teamOf(candidate) };
  const vault: SecretReader = {
    requester: (candidate) => ({
      get: async (key: string) => {
        vaultReads.push(key);
        return vaults[teamOf(candidate)]?.[key];
      },
    }),
  };
  const modelsProvider = new ModelsProviderService(
    new MemoryModelsProviderBackend({ models }),
    createConnectorContext({ subsystem: 'ModelsProvider', connector: 'MemoryModelsProvider' }),
    { account },
  );
  const service = new LLMService(backend, createConnectorContext({ subsystem: 'LLM', connector }), {
    account,
    vault,
    modelsProvider,
  });
  return { service, vaultReads };
}

export async function drain(stream: AsyncIterable<LLMStreamEvent>): Promise<LLMStreamEvent[]> {
  const events: LLMStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

export const textOf = (events: LLMStreamEvent[]) =>
  events.map((event) => (event.type === 'text' ? event.delta : '')).join('');

export function finishOf(events: LLMStreamEvent[]): Extract<LLMStreamEvent, { type: 'finish' }> {
  const finishes = events.filter((event) => event.type === 'finish');
  if (finishes.length !== 1 || events.at(-1)?.type !== 'finish')
    throw new Error(`expected exactly one finish event, last; got ${events.map((event) => event.type).join(',')}`);
  return finishes[0] as Extract<LLMStreamEvent, { type: 'finish' }>;
}

/** Resolves once `condition` holds (polled), or rejects after `ms`. */
export async function eventually(condition: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

export const PERSON_SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
  required: ['name', 'age'],
  additionalProperties: false,
};

/** What the abort check needs of a peer: it queues scripted replies and counts connections the client closed. */
export interface AbortablePeer {
  readonly clientClosed: number;
  enqueue(...replies: { content: string; chunkDelayMs?: number }[]): void;
}

/**
 * Aborting mid-stream ends the stream with one `abort` finish and closes the upstream request (the
 * peer sees the connection go), the same check for every provider.
 */
export async function expectAbortClosesUpstream(
  service: LLMService,
  model: string,
  peer: AbortablePeer,
): Promise<void> {
  const closed = peer.clientClosed;
  peer.enqueue({ content: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 10 });
  const controller = new AbortController();
  const events: LLMStreamEvent[] = [];
  for await (const event of service.team('a').stream({ model, prompt: 'x', signal: controller.signal })) {
    events.push(event);
    if (event.type === 'text') controller.abort();
  }
  if (finishOf(events).finishReason !== 'abort')
    throw new Error(`finished with ${finishOf(events).finishReason}, not abort`);
  await eventually(() => peer.clientClosed === closed + 1);
}
