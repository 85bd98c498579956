import type { ScriptedPeer } from '../../../../../test/peers/llm-script';
import { drain, finishOf, llmServiceOver, textOf, WEATHER_TOOL } from '../../../../../test/support/llm-chat-harness';
import { SreRateLimitError } from '../../core/errors';
import type { ModelEntry, ModelMap } from '../../models-provider/models-provider.backend';
import { describeLLMBackend, type LLMContractOptions } from '../../testing/llm.contract';
import type { LLMResponseFormat, LLMBackend, LLMStreamEvent } from '../llm.backend';
import type { LLMService } from '../llm.service';
import { LLMStructuredOutputError } from '../llm-usage';

/*
 * What the wire specs of the LLM connectors (OpenAI, Anthropic, GoogleAI, Bedrock, each against its
 * peer in test/peers) share, on top of test/support/llm-chat-harness: the peer's lifecycle with the
 * contract suite, the model map and vaults, and the checks every provider passes the same way.
 * Each check takes hooks for what a provider adds (the request body it sends), so every spec keeps
 * its own assertions beside the shared ones.
 */

type Peer = Pick<ScriptedPeer<unknown>, 'enqueue'>;

/**
 * The peer of a spec file: started before its tests, stopped after them. What is returned reads
 * through to the running peer, so `peer.requests` and `peer.baseURL` work as on the peer itself.
 */
export function peerOfFile<P extends ScriptedPeer<unknown>>(start: () => Promise<P>): P {
  let running: P | undefined;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(() => running?.stop());
  return new Proxy({} as P, {
    get(_target, key) {
      if (!running) throw new Error(`the peer is not started yet (reading ${String(key)})`);
      const value: unknown = Reflect.get(running, key, running);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(running) : value;
    },
  });
}

/** A model of another provider, which a connector must refuse. */
export const OPENAI_MODEL: ModelEntry = { modelId: 'gpt-test', provider: 'OpenAI', credentials: 'vault' };

/**
 * A wire connector's spec file: its peer (see {@link peerOfFile}), the LLM contract suite against
 * it, and `setup(...args)`: an LLMService over `connector(...args)` (see `llmServiceOver`) whose
 * models are `models` on the peer (each `{ modelId: model, provider: label, credentials: 'vault',
 * baseURL, ...base }` with its own additions) and `others` (default: {@link OPENAI_MODEL} as `gpt`).
 */
export function describeWireConnector<P extends ScriptedPeer<unknown>, A extends unknown[] = []>(
  label: string,
  options: {
    start: () => Promise<P>;
    connector: (...args: A) => LLMBackend;
    baseURL: (peer: P) => string;
    models: Record<string, Partial<ModelEntry>>;
    base?: Partial<ModelEntry>;
    others?: (peer: P) => ModelMap;
    vaults: Record<string, Record<string, string>>;
  } & Required<Pick<LLMContractOptions, 'model' | 'credentials'>>,
): { peer: P; setup: (...args: A) => ReturnType<typeof llmServiceOver> } {
  const peer = peerOfFile(options.start);
  describeLLMBackend(label, () => (options.connector as () => LLMBackend)(), {
    model: options.model,
    credentials: options.credentials,
    echoes: true,
    baseURL: () => options.baseURL(peer),
  });
  const models = (): ModelMap => {
    const base = {
      modelId: options.model,
      provider: label,
      credentials: 'vault' as const,
      baseURL: options.baseURL(peer),
      ...options.base,
    };
    const onPeer = Object.entries(options.models).map(([name, extra]) => [name, { ...base, ...extra }]);
    return { ...Object.fromEntries(onPeer), ...(options.others?.(peer) ?? { gpt: OPENAI_MODEL }) };
  };
  const setup = (...args: A) => llmServiceOver(options.connector(...args), models(), options.vaults, label);
  return { peer, setup };
}

/** Each team's vault holding one key under `vaultKey`: `{ a: 'k-a' }` is `{ a: { [vaultKey]: 'k-a' } }`. */
export function keysByTeam(vaultKey: string, keys: Record<string, string>): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(keys).map(([team, key]) => [team, { [vaultKey]: key }]));
}

/** What the promise rejects with (or resolves to), to check an error's type and message apart. */
export const caught = (promise: Promise<unknown>): Promise<unknown> => promise.catch((error: unknown) => error);

/** A chat with a system prompt apart and one user message, echoed back: `text`, `stop`, no tool calls. */
export async function expectBriefChat(service: LLMService, team: string, model: string, text: string) {
  const result = await service.team(team).chat({
    model,
    messages: [
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: text },
    ],
  });
  expect(result).toMatchObject({ content: text, finishReason: 'stop', toolCalls: [] });
  return result;
}

/** The `thinker` model streams `thinking` then the text, as typed events ending with one finish. */
export async function expectThinkingStream(
  service: LLMService,
  peer: Peer,
  thinking: string,
  maxThinkingTokens: number,
): Promise<void> {
  peer.enqueue({ thinking, content: 'one two three' });
  const events = await drain(
    service.team('a').stream({ model: 'thinker', prompt: 'x', params: { maxThinkingTokens } }),
  );
  expect(textOf(events)).toBe('one two three');
  expect(events.filter((event) => event.type === 'thinking')).toEqual([{ type: 'thinking', delta: thinking }]);
  expect(finishOf(events)).toMatchObject({ finishReason: 'stop', usage: { outputTokens: expect.any(Number) } });
}

/**
 * A tool call round trip, not streamed (the call, then the tool's answer back) and streamed; `ids`
 * are the call ids the peer is scripted with (checked when given), the hooks check the request
 * bodies after the first call and after the answer.
 */
export async function expectToolRoundTrip(
  service: LLMService,
  peer: Peer,
  model: string,
  options: {
    ids?: [string, string];
    prompt?: string;
    toolChoice?: 'required';
    afterCall?: () => void;
    afterAnswer?: () => void;
  } = {},
): Promise<void> {
  const { ids, prompt = 'weather?', toolChoice } = options;
  const call = (city: string, id?: string) => ({ ...(id ? { id } : {}), name: 'get_weather', arguments: { city } });
  peer.enqueue({ toolCalls: [call('Paris', ids?.[0])] });
  const first = await service
    .team('a')
    .chat({ model, prompt, tools: [WEATHER_TOOL], ...(toolChoice ? { toolChoice } : {}) });
  expect(first).toMatchObject({ finishReason: 'tool_calls', toolCalls: [call('Paris', ids?.[0])] });
  options.afterCall?.();
  const final = await service.team('a').chat({
    model,
    tools: [WEATHER_TOOL],
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: '', toolCalls: first.toolCalls },
      { role: 'tool', toolCallId: first.toolCalls[0].id, content: 'sunny' },
    ],
  });
  expect(final).toMatchObject({ content: 'The tool answered: sunny', finishReason: 'stop' });
  options.afterAnswer?.();
  peer.enqueue({ toolCalls: [call('Rome', ids?.[1])] });
  const streamed = finishOf(await drain(service.team('a').stream({ model, prompt: 'Rome?', tools: [WEATHER_TOOL] })));
  expect(streamed).toMatchObject({ finishReason: 'tool_calls', toolCalls: [call('Rome', ids?.[1])] });
}

/**
 * A valid answer comes back parsed (then `afterValid` checks the request), an `invalid` one as an
 * LLMStructuredOutputError, which is returned for its message.
 */
export async function expectStructuredOutput(
  service: LLMService,
  peer: Peer,
  model: string,
  options: { responseFormat: LLMResponseFormat; invalid: string; afterValid?: () => void },
): Promise<Error> {
  const { responseFormat } = options;
  peer.enqueue({ content: '{"name":"Ada","age":36}' });
  expect((await service.team('a').chat({ model, prompt: 'who?', responseFormat })).parsed).toEqual({
    name: 'Ada',
    age: 36,
  });
  options.afterValid?.();
  peer.enqueue({ content: options.invalid });
  const error = await caught(service.team('a').chat({ model, prompt: 'who?', responseFormat }));
  expect(error).toBeInstanceOf(LLMStructuredOutputError);
  return error as Error;
}

/**
 * A 429 with a retry-after of one second is retried after it; one of `limitedSeconds` with no retry
 * left is an SreRateLimitError carrying the delay. `fail(seconds)` scripts the peer's 429.
 */
export async function expectRetryAfter(
  service: LLMService,
  model: string,
  fail: (retryAfterSeconds: number) => void,
  limitedSeconds: number,
  prompt = 'later',
): Promise<void> {
  fail(1);
  const started = Date.now();
  await expect(service.team('a').chat({ model, prompt })).resolves.toMatchObject({ content: prompt });
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  fail(limitedSeconds);
  const limited = await caught(service.team('a').chat({ model, prompt: 'x', maxRetries: 0 }));
  expect(limited).toBeInstanceOf(SreRateLimitError);
  expect((limited as SreRateLimitError).retryAfterMs).toBe(limitedSeconds * 1000);
}

/** A stream the peer cuts after `cutAfterChunks` ends with an error finish; its events are returned. */
export async function expectCutStreamError(
  service: LLMService,
  peer: Peer,
  model: string,
  cutAfterChunks: number,
  content = 'a b c d e f',
): Promise<LLMStreamEvent[]> {
  peer.enqueue({ content, cutAfterChunks });
  const events = await drain(service.team('a').stream({ model, prompt: 'x' }));
  expect(finishOf(events).finishReason).toBe('error');
  return events;
}
