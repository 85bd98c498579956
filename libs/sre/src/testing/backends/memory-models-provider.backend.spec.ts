import { describeModelsProviderBackend } from '../models-provider.contract';
import { MemoryModelsProviderBackend } from './memory-models-provider.backend';

describeModelsProviderBackend('MemoryModelsProvider', () => new MemoryModelsProviderBackend());

describeModelsProviderBackend(
  'MemoryModelsProvider with a global list',
  () =>
    new MemoryModelsProviderBackend({
      models: { 'gpt-4o': { modelId: 'gpt-4o', provider: 'OpenAI', tokens: 128_000 }, echo: { modelId: 'echo' } },
      customModelDefaults: { 'contract.foundation-1': { tokens: 200_000, completionTokens: 4096 } },
    }),
);

describe('MemoryModelsProviderBackend', () => {
  it('copies maps in and out, so that callers cannot reach into it', () => {
    const models = { a: { modelId: 'a', tags: ['x'] } };
    const backend = new MemoryModelsProviderBackend({ models });
    models.a.tags.push('changed');
    const read = backend.readModels();
    expect(read).toEqual({ a: { modelId: 'a', tags: ['x'] } });
    read.a.modelId = 'mutated';
    expect(backend.readModels().a.modelId).toBe('a');
    expect(backend.reads).toBe(2);
    const added = { t: { modelId: 't' } };
    backend.writeTeamModels('team-a', added, undefined);
    added.t.modelId = 'mutated';
    expect(backend.readTeamModels('team-a')?.models).toEqual({ t: { modelId: 't' } });
  });

  it('answers the limits it was given for a foundation model, and nothing for others', () => {
    const backend = new MemoryModelsProviderBackend({ customModelDefaults: { f: { tokens: 5 } } });
    expect(backend.customModelDefaults('f')).toEqual({ tokens: 5 });
    expect(backend.customModelDefaults('constructor')).toBeUndefined();
  });
});
