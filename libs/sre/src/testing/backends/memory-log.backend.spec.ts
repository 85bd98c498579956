import { describeLogBackend } from '../log.contract';
import { MemoryLogBackend } from './memory-log.backend';

describeLogBackend('MemoryLog', () => new MemoryLogBackend(), { recorded: (backend) => backend });

describe('MemoryLogBackend', () => {
  it('keeps entries by reference, in call order, until cleared', () => {
    const backend = new MemoryLogBackend();
    const entry = { step: 1 };
    backend.writeLog('a1', entry, 'c1');
    backend.writeTasks('a1', 2, false);
    expect(backend.entries[0].entry).toBe(entry);
    expect(backend.tasks).toEqual([{ agentId: 'a1', tasks: 2, isUsingTestDomain: false }]);
    backend.clear();
    expect([backend.entries, backend.tasks]).toEqual([[], []]);
  });
});
