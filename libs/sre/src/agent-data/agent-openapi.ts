import type { AgentComponentInput, AgentDefinition } from './agent-data.backend';

/** The OpenAPI 3.0.1 document of an agent's API endpoints. */
export interface AgentOpenAPIDocument {
  openapi: '3.0.1';
  info: { title: string; description: string; version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown> };
}

/** A JSON-schema fragment, as OpenAPI 3.0 embeds it. */
export type SchemaFragment = Record<string, unknown>;

/** Builds the schema of one input; `multipart`: the request is a form upload, binary inputs are files. */
export type InputSchemaBuilder = (at: { multipart: boolean }) => SchemaFragment;

const asString: InputSchemaBuilder = () => ({ type: 'string' });
const asNumber: InputSchemaBuilder = () => ({ type: 'number' });

/**
 * The schema of each declared input type (lower-cased, trimmed). A type missing from the table is
 * taken as text: agent files carry free-form types, and a string is what an HTTP caller can always
 * send. Builders return a fresh object each time, so that no document shares (or mutates) another's.
 */
export const INPUT_TYPE_SCHEMAS: Readonly<Record<string, InputSchemaBuilder>> = Object.freeze({
  string: asString,
  any: asString,
  // a file in a form upload; elsewhere (query, JSON body, the AI view) its URL as text
  binary: ({ multipart }) => (multipart ? { type: 'string', format: 'binary' } : { type: 'string' }),
  number: asNumber,
  float: asNumber,
  integer: () => ({ type: 'integer' }),
  boolean: () => ({ type: 'boolean' }),
  array: () => ({ type: 'array', items: {} }),
  object: () => ({ type: 'object', additionalProperties: {} }),
});

/** How a query parameter of each type is serialised; types not listed use OpenAPI's default. */
export const QUERY_STYLES: Readonly<Record<string, { style: string; explode: boolean }>> = Object.freeze({
  array: { style: 'form', explode: false },
  object: { style: 'deepObject', explode: true },
});

/** An input's declared type as the tables key it: lower-cased and trimmed, `''` when missing. */
export function inputTypeOf(input: Pick<AgentComponentInput, 'type'>): string {
  return String(input.type ?? '')
    .toLowerCase()
    .trim();
}

/** The schema of an input of `type` (see `INPUT_TYPE_SCHEMAS`). */
export function inputTypeSchema(type: string, multipart = false): SchemaFragment {
  const build = Object.hasOwn(INPUT_TYPE_SCHEMAS, type) ? INPUT_TYPE_SCHEMAS[type] : asString;
  return build({ multipart });
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops `undefined` values so the document serialises the same as it reads. */
function defined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));
}

function queryParameters(inputs: AgentComponentInput[]): Record<string, unknown>[] {
  return inputs.map((input) => {
    const type = inputTypeOf(input);
    return defined({
      name: input.name,
      in: 'query',
      description: input.description,
      required: !input.optional,
      schema: inputTypeSchema(type),
      ...(Object.hasOwn(QUERY_STYLES, type) ? QUERY_STYLES[type] : {}),
    });
  });
}

function requestBody(inputs: AgentComponentInput[], aiOnly: boolean): Record<string, unknown> {
  // the AI view takes files as URLs in JSON: a model cannot upload a form
  const multipart = !aiOnly && inputs.some((input) => inputTypeOf(input) === 'binary');
  const properties: Record<string, unknown> = {};
  for (const input of inputs) {
    properties[input.name] = defined({
      ...inputTypeSchema(inputTypeOf(input), multipart),
      description: input.description,
      default: input.defaultVal,
    });
  }
  const required = inputs.filter((input) => !input.optional).map((input) => input.name);
  return {
    required: true,
    content: {
      [multipart ? 'multipart/form-data' : 'application/json']: { schema: { type: 'object', properties, required } },
    },
  };
}

/**
 * The OpenAPI document of an agent's `APIEndpoint` components: one path per endpoint at
 * `/api/<endpoint>` (`/v<version>/api/<endpoint>` for a version other than `latest`); GET endpoints
 * take query parameters, others a JSON body, or a form upload when an input is binary. With
 * `aiOnly`, endpoints marked `ai_exposed: false` are left out, the agent's `behavior` describes it
 * and binary inputs are taken as JSON (URLs). Built as objects: names and descriptions with quotes
 * or braces cannot break the document (the original filled a JSON text template).
 */
export function buildAgentOpenAPI(
  agent: AgentDefinition,
  serverUrl: string,
  version?: string,
  aiOnly = false,
): AgentOpenAPIDocument {
  const basePath = version && version !== 'latest' ? `/v${version}/api` : '/api';
  const document: AgentOpenAPIDocument = {
    openapi: '3.0.1',
    info: {
      title: agent.name ?? '',
      description: (aiOnly ? agent.behavior : agent.shortDescription) || agent.description || '',
      version: agent.version || '1.0.0',
    },
    servers: [{ url: serverUrl }],
    paths: {},
    components: { schemas: {} },
  };
  for (const component of Array.isArray(agent.components) ? agent.components : []) {
    if (component?.name !== 'APIEndpoint' || !isPlainObject(component.data)) continue;
    const data = component.data;
    if (typeof data.endpoint !== 'string' || data.endpoint === '') continue;
    if (aiOnly && data.ai_exposed !== undefined && !data.ai_exposed) continue;
    const method = String(data.method || 'post').toLowerCase();
    // an HTTP method is a word: anything else (`__proto__` included) is no operation key
    if (!/^[a-z]+$/.test(method)) continue;
    const operation: Record<string, unknown> = {
      summary: (aiOnly ? data.description || data.doc : data.doc || data.description) ?? '',
      operationId: data.endpoint,
      'x-openai-isConsequential': false,
      responses: { '200': { description: 'response', content: { 'text/plain': { schema: { type: 'string' } } } } },
    };
    const inputs = (Array.isArray(component.inputs) ? component.inputs : []).filter(
      (input) => typeof input?.name === 'string',
    );
    if (inputs.length > 0 && method === 'get') operation.parameters = queryParameters(inputs);
    else if (inputs.length > 0) operation.requestBody = requestBody(inputs, aiOnly);
    (document.paths[`${basePath}/${data.endpoint}`] ??= {})[method] = operation;
  }
  return document;
}
