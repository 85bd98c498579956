import type { AgentDataBackend, AgentDataRecord, AgentDefinition } from '../../agent-data/agent-data.backend';

/** One agent as the memory backend holds it. */
export interface MemoryAgent {
  /** The development copy. */
  data: AgentDefinition;
  /** The team listing the agent (`listTeamAgents`). */
  team?: string;
  /** Deployed copies by version; `latest` reads the last one listed. */
  deployed?: Record<string, AgentDefinition>;
  /** Domains served besides the copies' `settings.agentStageDomain` / `agentProdDomain`. */
  domains?: string[];
  embodiments?: unknown[];
}

export interface MemoryAgentDataOptions {
  /** Agents by id. */
  agents?: Record<string, MemoryAgent>;
}

const DOMAIN_SETTINGS = ['agentStageDomain', 'agentProdDomain'] as const;

/**
 * An AgentData backend in memory: development and deployed copies of agents by id, for tests and
 * for agents defined in code. Definitions are copied in and out, so that a test that edits what it
 * gave or got cannot reach into the backend.
 */
export class MemoryAgentDataBackend implements AgentDataBackend {
  static readonly connectorName = 'MemoryAgentData';

  private readonly agents: ReadonlyMap<string, MemoryAgent>;

  constructor(options: MemoryAgentDataOptions = {}) {
    this.agents = new Map(Object.entries(structuredClone(options.agents ?? {})));
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  getAgentData(agentId: string, version?: string): AgentDataRecord | undefined {
    const found = this.copyOf(agentId, version);
    return found && { data: structuredClone(found.data), version: found.version };
  }

  getAgentSettings(agentId: string, version?: string): Record<string, unknown> {
    return structuredClone(this.copyOf(agentId, version)?.data.settings ?? {});
  }

  getAgentIdByDomain(domain: string): string | undefined {
    for (const [id, agent] of this.agents) if (this.domainsOf(agent).includes(domain)) return id;
    return undefined;
  }

  getAgentEmbodiments(agentId: string): unknown[] {
    return structuredClone(this.agents.get(agentId)?.embodiments ?? []);
  }

  isDeployed(agentId: string): boolean {
    return Object.keys(this.agents.get(agentId)?.deployed ?? {}).length > 0;
  }

  listTeamAgents(teamId: string, deployedOnly: boolean, includeData: boolean): Record<string, unknown>[] {
    return [...this.agents]
      .filter(([id, agent]) => agent.team === teamId && (!deployedOnly || this.isDeployed(id)))
      .map(([id, agent]) => ({
        id,
        name: agent.data.name,
        deployed: this.isDeployed(id),
        ...(includeData ? { data: structuredClone(agent.data) } : {}),
      }));
  }

  getAgentConfig(agentId: string): Record<string, unknown> | undefined {
    const settings = this.agents.get(agentId)?.data.settings;
    return settings && structuredClone(settings);
  }

  private copyOf(agentId: string, version?: string): { data: AgentDefinition; version: string } | undefined {
    const agent = this.agents.get(agentId);
    if (!agent) return undefined;
    if (version === undefined) return { data: agent.data, version: agent.data.version ?? '1.0' };
    const deployed = Object.entries(agent.deployed ?? {});
    const found = version === 'latest' ? deployed.at(-1) : deployed.find(([name]) => name === version);
    return found && { data: found[1], version: found[0] };
  }

  private domainsOf(agent: MemoryAgent): string[] {
    const copies = [agent.data, ...Object.values(agent.deployed ?? {})];
    const fromSettings = copies.flatMap((copy) =>
      DOMAIN_SETTINGS.map((key) => copy.settings?.[key]).filter((value): value is string => typeof value === 'string'),
    );
    return [...fromSettings, ...(agent.domains ?? [])];
  }
}
