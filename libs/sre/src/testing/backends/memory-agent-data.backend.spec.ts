import { describeAgentDataBackend } from '../agent-data.contract';
import { MemoryAgentDataBackend } from './memory-agent-data.backend';

describeAgentDataBackend('MemoryAgentData', (seed) => new MemoryAgentDataBackend(seed));

describeAgentDataBackend('MemoryAgentData without agents', () => new MemoryAgentDataBackend(), { empty: true });

describe('MemoryAgentDataBackend', () => {
  it('copies definitions in and out, so that callers cannot reach into it', () => {
    const agents = { a: { data: { id: 'a', name: 'A', settings: { agentStageDomain: 'a.local' } }, team: 't' } };
    const backend = new MemoryAgentDataBackend({ agents });
    agents.a.data.name = 'changed';
    const read = backend.getAgentData('a')!;
    expect(read).toEqual({ data: { id: 'a', name: 'A', settings: { agentStageDomain: 'a.local' } }, version: '1.0' });
    read.data.name = 'mutated';
    backend.getAgentConfig('a')!.agentStageDomain = 'mutated';
    backend.getAgentSettings('a').agentStageDomain = 'mutated';
    expect(backend.getAgentData('a')!.data.name).toBe('A');
    expect(backend.getAgentIdByDomain('a.local')).toBe('a');
  });

  it('reports a deployment with its summary', () => {
    const backend = new MemoryAgentDataBackend({
      agents: { a: { data: { name: 'A' }, team: 't', deployed: { '1.0': { name: 'A1' } } } },
    });
    expect(backend.listTeamAgents('t', false, false)).toEqual([{ id: 'a', name: 'A', deployed: true }]);
  });
});
