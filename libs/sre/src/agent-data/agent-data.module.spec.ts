import { AGENT_DATA_FIXTURE } from '../testing/agent-data.contract';
import { MemoryAgentDataBackend } from '../testing/backends/memory-agent-data.backend';
import { describeSubsystemModule } from '../testing/subsystem-module.testkit';
import { AGENT_DATA, AgentDataModule, InjectAgentData } from './agent-data.module';
import { AgentDataService } from './agent-data.service';

/** The memory backend over the contract's agents, as a user's own connector class. */
class FixtureAgentData extends MemoryAgentDataBackend {
  constructor() {
    super({ agents: AGENT_DATA_FIXTURE });
  }
}

describe('AgentDataModule', () => {
  const { useConnector } = describeSubsystemModule<FixtureAgentData, AgentDataService>(
    AGENT_DATA,
    AgentDataModule,
    InjectAgentData,
    {
      connector: FixtureAgentData,
      planned: [],
      available: ['Local', 'CLI', 'NullAgentData'],
      unknownName: 'Remote',
    },
  );

  describe('built by the module', () => {
    const agents = useConnector();

    it('serves agent data, synchronously where the contract says so', async () => {
      expect(agents()).toBeInstanceOf(AgentDataService);
      expect(await agents().getAgentIdByDomain('weather.local')).toBe('agent-1');
      expect(agents().getAgentConfig('agent-1')).toEqual({ agentStageDomain: 'weather.local' });
      const doc = await agents().getOpenAPIJSON('agent-1', 'https://weather.local');
      expect(Object.keys(doc.paths)).toEqual(['/api/forecast', '/api/upload']);
    });
  });
});
