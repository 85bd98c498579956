import { describeComponentBackend } from '../component.contract';
import { MemoryComponentBackend } from './memory-component.backend';

describeComponentBackend('MemoryComponent', () => new MemoryComponentBackend());

describe('MemoryComponentBackend', () => {
  it('starts with the components it is given, answering synchronously', () => {
    const apiCall = { name: 'APICall' };
    const mine = { name: 'mine' };
    const backend = new MemoryComponentBackend({
      components: { APICall: apiCall },
      teams: { 'team-a': { APICall: mine } },
    });
    expect(backend.readComponent(undefined, 'APICall')).toBe(apiCall);
    expect(backend.readComponent('team-a', 'APICall')).toBe(mine);
    expect(backend.listComponents('team-b')).toEqual({});
  });
});
