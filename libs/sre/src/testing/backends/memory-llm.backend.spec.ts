import { describeLLMBackend } from '../llm.contract';
import { MemoryLLMBackend } from './memory-llm.backend';
import type { LLMProviderRequest } from '../../llm/llm.backend';

describeLLMBackend('MemoryLLM', () => new MemoryLLMBackend(), { echoes: true });

const request = (params: Partial<LLMProviderRequest['params']>): LLMProviderRequest => ({
  params: {
    model: 'echo',
    modelEntryName: 'echo',
    maxTokens: 10,
    capabilities: { search: false, reasoning: false, imageGeneration: false },
    ...params,
  },
  context: {
    modelEntryName: 'echo',
    agentId: 'a',
    isUserKey: false,
    hasFiles: false,
    modelInfo: { modelId: 'echo' },
    credentials: {},
  },
});

describe('MemoryLLMBackend', () => {
  it('echoes the last message, else the prompt, and records every request', async () => {
    const backend = new MemoryLLMBackend();
    expect(
      await backend.chat(
        request({
          prompt: 'ignored',
          messages: [
            { role: 'user', content: 'first' },
            { role: 'user', content: 'last' },
          ],
        }),
      ),
    ).toMatchObject({ content: 'last', finishReason: 'stop', toolCalls: [] });
    expect(await backend.chat(request({ prompt: 'p' }))).toMatchObject({ content: 'p', finishReason: 'stop' });
    expect(await backend.chat(request({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }))).toMatchObject({
      content: '',
      finishReason: 'stop',
    });
    expect(backend.requests.map((seen) => seen.params.prompt)).toEqual(['ignored', 'p', undefined]);
  });

  it('fails on the text it was told to fail on, in both call kinds', async () => {
    const backend = new MemoryLLMBackend({ failOn: 'fail' });
    await expect(backend.chat(request({ prompt: 'fail' }))).rejects.toThrow('provider failed');
    const drain = async () => {
      for await (const event of backend.stream(request({ prompt: 'fail' }))) void event;
    };
    await expect(drain()).rejects.toThrow('provider failed');
    await expect(backend.chat(request({ prompt: 'fine' }))).resolves.toMatchObject({ content: 'fine' });
  });
});
