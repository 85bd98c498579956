import {
  describeModelMapProblem,
  enterpriseModels,
  invalidModelEntries,
  parseModelsSetting,
  userCustomModels,
} from './models-loader';

describe('model entry validation', () => {
  it('names every entry that cannot be a model (W41)', () => {
    expect(
      invalidModelEntries({
        good: { modelId: 'g', provider: 'OpenAI' },
        bare: { modelId: 'b' },
        noId: { provider: 'x' },
        emptyId: { modelId: '' },
        numberId: { modelId: 3 as never },
        provider: { modelId: 'p', provider: 3 as never },
        notObject: 'x' as never,
        list: [] as never,
        '': { modelId: 'e' },
      }),
    ).toEqual(['noId', 'emptyId', 'numberId', 'provider', 'notObject', 'list', '']);
  });

  it('describes a bad map without showing entry contents', () => {
    expect(describeModelMapProblem({ a: { modelId: 'a' } })).toBeUndefined();
    expect(describeModelMapProblem({})).toBeUndefined();
    expect(describeModelMapProblem([])).toBe('models must be an object of entries by name');
    expect(describeModelMapProblem(null)).toBe('models must be an object of entries by name');
    const problem = describeModelMapProblem({ bad: { credentials: { apiKey: 'sk-SECRET' } } });
    expect(problem).toBe("invalid model entries (need a string modelId, provider a string): 'bad'");
    expect(problem).not.toContain('SECRET');
  });
});

describe('custom models loader', () => {
  it('parses a setting: {} when unset, undefined when it is not a JSON object', () => {
    expect(parseModelsSetting(undefined)).toEqual({});
    expect(parseModelsSetting('')).toEqual({});
    expect(parseModelsSetting('{"a":{}}')).toEqual({ a: {} });
    expect(parseModelsSetting('not json {')).toBeUndefined();
    expect(parseModelsSetting('[1]')).toBeUndefined();
    expect(parseModelsSetting('"text"')).toBeUndefined();
  });

  it('builds enterprise models with their credentials mode and the foundation defaults', () => {
    const models = enterpriseModels(
      {
        e1: {
          name: 'my-bedrock',
          provider: 'Bedrock',
          features: ['text-completion', 'tool-use', 'image'],
          tags: ['x'],
          settings: { foundationModel: 'anthropic.claude-3', customModel: '' },
        },
        e2: {
          name: 'my-vertex',
          provider: 'VertexAI',
          settings: { foundationModel: 'gemini', customModel: 'tuned-1' },
        },
        e3: { name: 'my-other', provider: 'toString', settings: { foundationModel: 'f' } },
        skipNoName: { settings: { foundationModel: 'f' } },
        skipNoSettings: { name: 'n' },
        skipNoModel: { name: 'm', settings: {} },
        skipNotObject: 'x',
      },
      (foundation) => (foundation === 'anthropic.claude-3' ? { tokens: 200_000, completionTokens: 2048 } : undefined),
    );
    expect(Object.keys(models)).toEqual(['my-bedrock', 'my-vertex', 'my-other']);
    expect(models['my-bedrock']).toEqual({
      tokens: 200_000,
      completionTokens: 2048,
      id: 'e1',
      name: 'my-bedrock',
      label: 'my-bedrock',
      modelId: 'anthropic.claude-3',
      alias: 'anthropic.claude-3',
      provider: 'Bedrock',
      llm: 'Bedrock',
      features: ['text', 'tools', 'image'],
      tags: ['Enterprise', 'x'],
      enabled: true,
      isCustomLLM: true,
      settings: { foundationModel: 'anthropic.claude-3', customModel: '' },
      credentials: 'bedrock_vault',
    });
    expect(models['my-vertex']).toMatchObject({
      modelId: 'tuned-1',
      alias: 'gemini',
      tokens: 100_000,
      completionTokens: 4096,
      credentials: 'vertexai_vault',
      features: [],
      tags: ['Enterprise'],
    });
    expect(models['my-other'].credentials).toBe('internal');
  });

  it('builds user custom models with their own URL, limits and credentials', () => {
    const models = userCustomModels({
      u1: {
        name: 'my-ollama',
        modelId: 'llama3',
        provider: 'Ollama',
        baseURL: 'http://localhost:11434',
        contextWindow: 4096,
        maxOutputTokens: 1024,
        fallbackLLM: 'gpt-4o',
        credentials: 'none',
        features: ['text'],
      },
      u2: { name: 'bare' },
      skip: { modelId: 'no-name' },
    });
    expect(models['my-ollama']).toEqual({
      id: 'u1',
      name: 'my-ollama',
      label: 'my-ollama',
      modelId: 'llama3',
      provider: 'Ollama',
      features: ['text'],
      tags: ['Custom'],
      tokens: 4096,
      completionTokens: 1024,
      enabled: true,
      baseURL: 'http://localhost:11434',
      fallbackLLM: 'gpt-4o',
      isUserCustomLLM: true,
      credentials: 'none',
    });
    expect(models.bare).toMatchObject({
      modelId: 'bare',
      tokens: 8192,
      completionTokens: 8192,
      credentials: ['vault', 'internal'],
    });
    expect(Object.keys(models)).toEqual(['my-ollama', 'bare']);
  });
});
