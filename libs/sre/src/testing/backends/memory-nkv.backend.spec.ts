import { describeNKVBackend } from '../nkv.contract';
import { MemoryNKVBackend } from './memory-nkv.backend';

describeNKVBackend('MemoryNKV', () => new MemoryNKVBackend());

describe('MemoryNKVBackend', () => {
  it('counts and forgets what it holds, and drops a namespace once its last key is gone', async () => {
    const backend = new MemoryNKVBackend();
    await backend.writeEntry('t', 'ns', 'a', 'j:1');
    await backend.writeEntry('t', 'ns', 'b', 'j:2');
    await backend.writeEntry('u', 'ns', 'a', 'j:3');
    expect(backend.size).toBe(3);
    await backend.deleteEntry('t', 'ns', 'a');
    await backend.deleteEntry('t', 'ns', 'b');
    expect(backend.size).toBe(1);
    expect(await backend.listEntries('t', 'ns')).toEqual([]);
    backend.clear();
    expect(backend.size).toBe(0);
    expect(await backend.readEntry('u', 'ns', 'a')).toBeUndefined();
  });
});
