import type { ConnectorContext } from '../core/backend';
import { SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { SreService } from '../core/service';
import { CANDIDATE_ID_PATTERN } from '../security/access-candidate';
import type { AgentDataBackend, AgentDataRecord, AgentDefinition } from './agent-data.backend';
import { buildAgentOpenAPI, type AgentOpenAPIDocument } from './agent-openapi';

export type {
  AgentComponent,
  AgentComponentInput,
  AgentDataBackend,
  AgentDataRecord,
  AgentDefinition,
} from './agent-data.backend';
export type { AgentOpenAPIDocument } from './agent-openapi';

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Where agent definitions and their settings come from (files, a CLI argument, a platform API):
 * what you inject. Not access controlled: ids are passed directly, as in the original (agent data
 * is read by the runtime, which decides who may run what). The service validates ids before any
 * backend sees them, turns missing answers into `undefined` / `{}` / `[]`, and builds what is the
 * same for every connector: the OpenAPI description and the ephemeral (in-process) agent data.
 */
export class AgentDataService extends SreService<AgentDataBackend> {
  // per service instance: the original kept one process-wide static map shared by every instance
  private readonly ephemeral = new Map<string, unknown>();

  constructor(backend: AgentDataBackend, context?: ConnectorContext, _deps: object = {}) {
    super(backend, context);
  }

  /**
   * The agent's definition: the deployed one of `version` when given, else the development one.
   * `undefined` when the connector does not know the agent.
   */
  async getAgentData(agentId: string, version?: string): Promise<AgentDataRecord | undefined> {
    const id = this.agentId(agentId);
    this.version(version);
    const record = await this.call('reading agent data', () => this.backend.getAgentData(id, version));
    return isPlainObject(record) ? record : undefined;
  }

  /** The agent's settings (`{}` when it has none or is unknown). */
  async getAgentSettings(agentId: string, version?: string): Promise<Record<string, unknown>> {
    const id = this.agentId(agentId);
    this.version(version);
    const settings = await this.call('reading agent settings', () => this.backend.getAgentSettings(id, version));
    return isPlainObject(settings) ? settings : {};
  }

  /** The agent serving `domain`, or `undefined`. */
  async getAgentIdByDomain(domain: string): Promise<string | undefined> {
    assertKey(domain, 'domain', this.source());
    const id = await this.call('looking up a domain', () => this.backend.getAgentIdByDomain(domain));
    return typeof id === 'string' && id !== '' ? id : undefined;
  }

  async getAgentEmbodiments(agentId: string): Promise<unknown[]> {
    const id = this.agentId(agentId);
    const embodiments = await this.call('reading embodiments', () => this.backend.getAgentEmbodiments(id));
    return Array.isArray(embodiments) ? embodiments : [];
  }

  async isDeployed(agentId: string): Promise<boolean> {
    const id = this.agentId(agentId);
    return (await this.call('checking deployment', () => this.backend.isDeployed(id))) === true;
  }

  /** Summaries of a team's agents (with their definition in `data` when `includeData`). */
  async listTeamAgents(teamId: string, deployedOnly = false, includeData = false): Promise<Record<string, unknown>[]> {
    // team ids end up in keys and paths: they obey the candidate grammar
    if (typeof teamId !== 'string' || !CANDIDATE_ID_PATTERN.test(teamId))
      throw new SreInvalidInputError("invalid team id: use letters, digits and '-' only", this.source());
    const agents = await this.call('listing team agents', () =>
      this.backend.listTeamAgents(teamId, deployedOnly === true, includeData === true),
    );
    return Array.isArray(agents) ? agents : [];
  }

  /**
   * Synchronous configuration of a known agent (SmythFS reads `agentStageDomain`), or `undefined`.
   * Before the backend is connected (lazyConnect) it starts the connection and throws
   * `SreUnavailableError`: a synchronous answer cannot wait for it.
   */
  getAgentConfig(agentId: string): Record<string, unknown> | undefined {
    const id = this.agentId(agentId);
    const config = this.call('reading agent config', () => this.backend.getAgentConfig(id));
    if (config instanceof Promise) {
      // the connection goes on; its failure is reported by the next call, not as an unhandled rejection
      config.catch(() => undefined);
      throw this.unavailable('is not connected yet; getAgentConfig answers only once it is');
    }
    return isPlainObject(config) ? config : undefined;
  }

  /**
   * The OpenAPI document of the agent's `APIEndpoint` components (see `buildAgentOpenAPI`).
   * `source` is an agent id or the definition itself (or a record holding it in `data`).
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
    if (typeof serverUrl !== 'string')
      throw new SreInvalidInputError('the OpenAPI server URL must be a string', this.source());
    return buildAgentOpenAPI(isPlainObject(agent) ? agent : {}, serverUrl, version, aiOnly);
  }

  /** Keeps data for an agent that has no definition on file (agents built with code), in this process only. */
  async setEphemeralAgentData(agentId: string, data: unknown): Promise<void> {
    this.ephemeral.set(this.agentId(agentId), data);
  }

  async getEphemeralAgentData<T = unknown>(agentId: string): Promise<T | undefined> {
    return this.ephemeral.get(this.agentId(agentId)) as T | undefined;
  }

  private agentId(agentId: string): string {
    assertKey(agentId, 'agent id', this.source());
    return agentId;
  }

  private version(version: string | undefined): void {
    if (version !== undefined) assertKey(version, 'agent version', this.source());
  }
}
