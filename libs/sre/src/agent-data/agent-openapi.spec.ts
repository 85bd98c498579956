import { buildAgentOpenAPI, INPUT_TYPE_SCHEMAS, inputTypeOf, inputTypeSchema, QUERY_STYLES } from './agent-openapi';
import type { AgentComponent, AgentDefinition } from './agent-data.backend';

const endpoint = (method: string, inputs: AgentComponent['inputs']): AgentDefinition => ({
  name: 'A',
  components: [{ name: 'APIEndpoint', data: { endpoint: 'go', method }, inputs }],
});

describe('input type → JSON schema table', () => {
  it.each([
    ['string', { type: 'string' }],
    ['any', { type: 'string' }],
    ['binary', { type: 'string' }],
    ['number', { type: 'number' }],
    ['float', { type: 'number' }],
    ['integer', { type: 'integer' }],
    ['boolean', { type: 'boolean' }],
    ['array', { type: 'array', items: {} }],
    ['object', { type: 'object', additionalProperties: {} }],
  ])('maps %s', (type, schema) => {
    expect(inputTypeSchema(type)).toEqual(schema);
    expect(INPUT_TYPE_SCHEMAS[type]({ multipart: false })).toEqual(schema);
  });

  it('lists exactly the types it maps', () => {
    expect(Object.keys(INPUT_TYPE_SCHEMAS).sort()).toEqual(
      ['any', 'array', 'binary', 'boolean', 'float', 'integer', 'number', 'object', 'string'].sort(),
    );
    expect(Object.isFrozen(INPUT_TYPE_SCHEMAS)).toBe(true);
  });

  it('marks a binary input as a file only in a form upload', () => {
    expect(inputTypeSchema('binary', true)).toEqual({ type: 'string', format: 'binary' });
    for (const type of Object.keys(INPUT_TYPE_SCHEMAS).filter((name) => name !== 'binary'))
      expect(inputTypeSchema(type, true)).toEqual(inputTypeSchema(type, false));
  });

  it.each(['', 'text', 'date', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'takes the unknown type %j as text',
    (type) => {
      expect(inputTypeSchema(type)).toEqual({ type: 'string' });
    },
  );

  it('keys inputs by their lower-cased, trimmed type', () => {
    expect(inputTypeOf({ type: '  Integer ' })).toBe('integer');
    expect(inputTypeOf({ type: 'BOOLEAN' })).toBe('boolean');
    expect(inputTypeOf({})).toBe('');
    expect(inputTypeOf({ type: 3 as never })).toBe('3');
  });

  it('hands out fresh schema objects', () => {
    const first = inputTypeSchema('array');
    (first.items as Record<string, unknown>).type = 'mutated';
    expect(inputTypeSchema('array')).toEqual({ type: 'array', items: {} });
  });

  it('serialises arrays and objects in the query with their own styles, others with the default', () => {
    expect(QUERY_STYLES).toEqual({
      array: { style: 'form', explode: false },
      object: { style: 'deepObject', explode: true },
    });
    const doc = buildAgentOpenAPI(
      endpoint(
        'GET',
        Object.keys(INPUT_TYPE_SCHEMAS).map((type) => ({ name: type, type })),
      ),
      'http://x',
    );
    const parameters = doc.paths['/api/go'].get.parameters as Record<string, unknown>[];
    expect(
      parameters.map((parameter) => [parameter.name, parameter.schema, parameter.style, parameter.explode]),
    ).toEqual(
      Object.keys(INPUT_TYPE_SCHEMAS).map((type) => [
        type,
        inputTypeSchema(type),
        QUERY_STYLES[type]?.style,
        QUERY_STYLES[type]?.explode,
      ]),
    );
  });
});

describe('buildAgentOpenAPI', () => {
  const AGENT: AgentDefinition = {
    name: 'Weather "Pro"',
    shortDescription: 'Tells the weather',
    behavior: 'You are a weather bot',
    version: '2.1',
    components: [
      {
        name: 'APIEndpoint',
        data: { endpoint: 'forecast', method: 'GET', doc: 'Forecast for a city', description: 'AI: forecast' },
        inputs: [
          { name: 'city', type: 'String', description: 'City name' },
          { name: 'days', type: 'Array', optional: true },
          { name: 'where', type: 'object', optional: true },
        ],
      },
      {
        name: 'APIEndpoint',
        data: { endpoint: 'upload', ai_exposed: false, doc: 'Upload a map' },
        inputs: [
          { name: 'file', type: 'Binary' },
          { name: 'count', type: 'integer', optional: true, defaultVal: 1 },
        ],
      },
      { name: 'APIEndpoint', data: { endpoint: 'ping', method: 'post' }, inputs: [] },
      { name: 'LLMPrompt', data: { endpoint: 'not-an-endpoint' } },
    ],
  };

  it('describes GET endpoints with query parameters and POST endpoints with a body', () => {
    const doc = buildAgentOpenAPI(AGENT, 'https://weather.local');
    expect(doc.openapi).toBe('3.0.1');
    expect(doc.info).toEqual({ title: 'Weather "Pro"', description: 'Tells the weather', version: '2.1' });
    expect(doc.servers).toEqual([{ url: 'https://weather.local' }]);
    expect(doc.components).toEqual({ schemas: {} });
    expect(Object.keys(doc.paths)).toEqual(['/api/forecast', '/api/upload', '/api/ping']);
    expect(doc.paths['/api/forecast'].get).toEqual({
      summary: 'Forecast for a city',
      operationId: 'forecast',
      'x-openai-isConsequential': false,
      responses: { '200': { description: 'response', content: { 'text/plain': { schema: { type: 'string' } } } } },
      parameters: [
        { name: 'city', in: 'query', description: 'City name', required: true, schema: { type: 'string' } },
        {
          name: 'days',
          in: 'query',
          required: false,
          schema: { type: 'array', items: {} },
          style: 'form',
          explode: false,
        },
        {
          name: 'where',
          in: 'query',
          required: false,
          schema: { type: 'object', additionalProperties: {} },
          style: 'deepObject',
          explode: true,
        },
      ],
    });
    expect(doc.paths['/api/upload'].post.requestBody).toEqual({
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: { file: { type: 'string', format: 'binary' }, count: { type: 'integer', default: 1 } },
            required: ['file'],
          },
        },
      },
    });
    expect(doc.paths['/api/ping'].post.requestBody).toBeUndefined();
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('serves the AI view: exposed endpoints, the behaviour, files as URLs in JSON', () => {
    const doc = buildAgentOpenAPI(
      { ...AGENT, components: [AGENT.components![0], { ...AGENT.components![1], data: { endpoint: 'upload' } }] },
      'http://x',
      '2.1',
      true,
    );
    expect(doc.info.description).toBe('You are a weather bot');
    expect(Object.keys(doc.paths)).toEqual(['/v2.1/api/forecast', '/v2.1/api/upload']);
    expect(doc.paths['/v2.1/api/forecast'].get.summary).toBe('AI: forecast');
    expect(doc.paths['/v2.1/api/upload'].post.requestBody).toEqual({
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: { file: { type: 'string' }, count: { type: 'integer', default: 1 } },
            required: ['file'],
          },
        },
      },
    });
    expect(Object.keys(buildAgentOpenAPI(AGENT, 'http://x', '2.1', true).paths)).toEqual([
      '/v2.1/api/forecast',
      '/v2.1/api/ping',
    ]);
  });

  it('uses /api for latest, the deprecated description and a default version when the rest is missing', () => {
    const doc = buildAgentOpenAPI({ description: 'old', components: [] }, 'http://x', 'latest');
    expect(doc.info).toEqual({ title: '', description: 'old', version: '1.0.0' });
    expect(buildAgentOpenAPI({ ...endpoint('post', []) }, 'http://x', 'latest').paths).toHaveProperty(['/api/go']);
  });

  it('keeps quotes and braces as data, and skips malformed components and methods', () => {
    const doc = buildAgentOpenAPI(
      {
        name: '"}{',
        components: [
          null as never,
          { name: 'APIEndpoint' },
          { name: 'APIEndpoint', data: { endpoint: '' } },
          { name: 'APIEndpoint', data: { endpoint: 'x', method: '__proto__' } },
          {
            name: 'APIEndpoint',
            data: { endpoint: 'y', doc: '", "injected": "' },
            inputs: [{ type: 'string' } as never],
          },
        ],
      },
      'http://x',
    );
    expect(doc.info.title).toBe('"}{');
    expect(Object.keys(doc.paths)).toEqual(['/api/y']);
    expect(doc.paths['/api/y'].post).toMatchObject({ summary: '", "injected": "' });
    expect(doc.paths['/api/y'].post.requestBody).toBeUndefined();
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
