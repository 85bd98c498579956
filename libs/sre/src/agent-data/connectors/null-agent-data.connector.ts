import type { AgentDataBackend, AgentDataRecord } from '../agent-data.backend';

/**
 * AgentData that serves no agent: every lookup misses (`undefined`, `{}`, `[]`, `false`). Unlike
 * the original (`isDeployed` true for any id), nothing claims to be deployed that cannot be read.
 */
export class NullAgentDataConnector implements AgentDataBackend {
  static readonly connectorName = 'NullAgentData';

  getAgentData(): AgentDataRecord | undefined {
    return undefined;
  }

  getAgentSettings(): Record<string, unknown> {
    return {};
  }

  getAgentIdByDomain(): string | undefined {
    return undefined;
  }

  getAgentEmbodiments(): unknown[] {
    return [];
  }

  isDeployed(): boolean {
    return false;
  }

  listTeamAgents(): Record<string, unknown>[] {
    return [];
  }

  getAgentConfig(): Record<string, unknown> | undefined {
    return undefined;
  }
}
