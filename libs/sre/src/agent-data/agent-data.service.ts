import { SreConnector } from '../core/connector';
import { SreInvalidInputError, SreNotFoundError } from '../core/errors';

/** One input of a component, as the agent file declares it. */
export interface AgentComponentInput {
  name: string;
  /** `string, number, integer, boolean, array, object, binary, any` */
  type?: string;
  description?: string;
  optional?: boolean;
  defaultVal?: unknown;
  [extra: string]: unknown;
}

export interface AgentComponent {
  id?: string;
  /** The component kind, e.g. `APIEndpoint`. */
  name: string;
  data?: Record<string, any>;
  inputs?: AgentComponentInput[];
  [extra: string]: unknown;
}

/** An agent definition (the content of a `.smyth` file). */
export interface AgentDefinition {
  id?: string;
  name?: string;
  version?: string;
  behavior?: string;
  shortDescription?: string;
  /** Deprecated; used when the other descriptions are missing. */
  description?: string;
  components?: AgentComponent[];
  settings?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface AgentDataRecord {
  data: AgentDefinition;
  version: string;
}

/** The OpenAPI 3.0.1 document of an agent's API endpoints. */
export interface AgentOpenAPIDocument {
  openapi: '3.0.1';
  info: { title: string; description: string; version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown> };
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inputSchema(type: string): Record<string, unknown> {
  switch (type) {
    case 'number':
    case 'float':
      return { type: 'number' };
    case 'integer':
      return { type: 'integer' };
    case 'boolean':
      return { type: 'boolean' };
    case 'array':
      return { type: 'array', items: {} };
    case 'object':
      return { type: 'object', additionalProperties: {} };
    default:
      return { type: 'string' };
  }
}

/** Drops `undefined` values so the document serialises the same as it reads. */
function defined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));
}

/**
 * Where agent definitions and their settings come from (files, a CLI argument, a platform API): the
 * contract, the injection token, and the base class of every AgentData connector. Not access
 * controlled: ids are passed directly, as in the original. The OpenAPI description of an agent and
 * the ephemeral (in-process) agent data are the same for every connector and live here.
 */
export abstract class AgentDataService extends SreConnector {
  // per connector instance: the original kept one process-wide static map shared by every instance
  private readonly ephemeral = new Map<string, unknown>();

  /**
   * The agent's definition: the deployed one of `version` when given, else the development one.
   * `undefined` when this connector does not know the agent.
   */
  abstract getAgentData(agentId: string, version?: string): Promise<AgentDataRecord | undefined>;
  /** The agent's settings (`{}` when it has none). */
  abstract getAgentSettings(agentId: string, version?: string): Promise<Record<string, unknown>>;
  /** The agent serving `domain`, or `undefined`. */
  abstract getAgentIdByDomain(domain: string): Promise<string | undefined>;
  abstract getAgentEmbodiments(agentId: string): Promise<unknown[]>;
  abstract isDeployed(agentId: string): Promise<boolean>;
  abstract listTeamAgents(
    teamId: string,
    deployedOnly?: boolean,
    includeData?: boolean,
  ): Promise<Record<string, unknown>[]>;
  /** Synchronous configuration of a known agent (SmythFS reads `agentStageDomain`), or `undefined`. */
  abstract getAgentConfig(agentId: string): Record<string, unknown> | undefined;

  /**
   * The OpenAPI document of the agent's `APIEndpoint` components. `source` is an agent id or the
   * definition itself (or a record holding it in `data`). With `aiOnly`, endpoints marked
   * `ai_exposed: false` are left out, the agent's `behavior` describes it and binary inputs are
   * taken as JSON (URLs) rather than multipart. Built as objects: names and descriptions with
   * quotes or braces cannot break the document (the original filled a JSON text template).
   */
  async getOpenAPIJSON(
    source: string | AgentDefinition | AgentDataRecord,
    serverUrl: string,
    version?: string,
    aiOnly = false,
  ): Promise<AgentOpenAPIDocument> {
    let agent: AgentDefinition;
    if (typeof source === 'string') {
      const record = await this.getAgentData(source, version);
      if (!record) throw new SreNotFoundError(`agent '${source}' not found`, this.source());
      agent = record.data;
    } else if (isPlainObject(source)) {
      agent = isPlainObject(source.data) ? (source.data as AgentDefinition) : (source as AgentDefinition);
    } else {
      throw new SreInvalidInputError('the OpenAPI source must be an agent id or an agent definition', this.source());
    }
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
      const operation: Record<string, unknown> = {
        summary: (aiOnly ? data.description || data.doc : data.doc || data.description) ?? '',
        operationId: data.endpoint,
        'x-openai-isConsequential': false,
        responses: { '200': { description: 'response', content: { 'text/plain': { schema: { type: 'string' } } } } },
      };
      const inputs = (Array.isArray(component.inputs) ? component.inputs : []).filter(
        (input) => typeof input?.name === 'string',
      );
      const typeOf = (input: AgentComponentInput) =>
        String(input.type ?? '')
          .toLowerCase()
          .trim();
      if (inputs.length > 0 && method === 'get') {
        operation.parameters = inputs.map((input) => {
          const type = typeOf(input);
          const style =
            type === 'array'
              ? { style: 'form', explode: false }
              : type === 'object'
                ? { style: 'deepObject', explode: true }
                : {};
          return defined({
            name: input.name,
            in: 'query',
            description: input.description,
            required: !input.optional,
            schema: inputSchema(type),
            ...style,
          });
        });
      } else if (inputs.length > 0) {
        const multipart = !aiOnly && inputs.some((input) => typeOf(input) === 'binary');
        const properties: Record<string, unknown> = {};
        for (const input of inputs) {
          const type = typeOf(input);
          properties[input.name] = defined({
            ...inputSchema(type),
            format: multipart && type === 'binary' ? 'binary' : undefined,
            description: input.description,
            default: input.defaultVal,
          });
        }
        const required = inputs.filter((input) => !input.optional).map((input) => input.name);
        operation.requestBody = {
          required: true,
          content: {
            [multipart ? 'multipart/form-data' : 'application/json']: {
              schema: { type: 'object', properties, required },
            },
          },
        };
      }
      (document.paths[`${basePath}/${data.endpoint}`] ??= {})[method] = operation;
    }
    return document;
  }

  /** Keeps data for an agent that has no definition on file (agents built with code), in this process only. */
  async setEphemeralAgentData(agentId: string, data: unknown): Promise<void> {
    if (typeof agentId !== 'string' || agentId === '')
      throw new SreInvalidInputError('an agent id must be a non-empty string', this.source());
    this.ephemeral.set(agentId, data);
  }

  async getEphemeralAgentData<T = unknown>(agentId: string): Promise<T | undefined> {
    return this.ephemeral.get(agentId) as T | undefined;
  }
}
