import { describeAgentDataBackend } from '../../testing/agent-data.contract';
import { AGENT_DATA_CONNECTORS } from '../agent-data.module';
import { NullAgentDataConnector } from './null-agent-data.connector';

describeAgentDataBackend('NullAgentData', () => new NullAgentDataConnector(), { empty: true });

describe('NullAgentData', () => {
  it('is registered, and answers every lookup as missing', async () => {
    expect(AGENT_DATA_CONNECTORS.get('NullAgentData')).toBe(NullAgentDataConnector);
    const agents = new NullAgentDataConnector();
    expect(agents.getAgentData()).toBeUndefined();
    expect(agents.getAgentSettings()).toEqual({});
    expect(agents.isDeployed()).toBe(false);
    expect(agents.getAgentConfig()).toBeUndefined();
  });
});
