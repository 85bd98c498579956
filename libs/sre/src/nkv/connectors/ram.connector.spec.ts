import { describeNKVBackend } from '../../testing/nkv.contract';
import { NKV_CONNECTORS } from '../nkv.module';
import { RAMNKVConnector, defaultRAMNKVMaxSizeMB } from './ram.connector';

describeNKVBackend('RAM', () => new RAMNKVConnector());

describe('RAMNKVConnector', () => {
  it('is the registered RAM connector', () => {
    expect(NKV_CONNECTORS.get('RAM')).toBe(RAMNKVConnector);
    expect(NKV_CONNECTORS.isPlanned('RAM')).toBe(false);
  });

  it('counts what it holds and frees it on delete, deleteAll and disconnect', async () => {
    const ram = new RAMNKVConnector();
    await ram.writeEntry('t', 'ns', 'a', 'j:1');
    await ram.writeEntry('t', 'ns', 'b', 'j:2');
    await ram.writeEntry('u', 'ns', 'a', 'j:3');
    expect(ram.size).toBe(3);
    const before = ram.bytes;
    await ram.writeEntry('t', 'ns', 'a', 'j:10');
    expect(ram.bytes).toBe(before + 2);
    await ram.deleteEntry('t', 'ns', 'a');
    await ram.deleteNamespace('t', 'ns');
    expect(ram.size).toBe(1);
    await ram.disconnect();
    expect([ram.size, ram.bytes]).toEqual([0, 0]);
  });

  it('refuses a write past maxSizeMB and keeps what it had; never evicts', async () => {
    const ram = new RAMNKVConnector({ maxSizeMB: 0.01 }); // 10,485 bytes
    await ram.writeEntry('t', 'ns', 'small', 'j:1');
    expect(() => ram.writeEntry('t', 'ns', 'big', `j:"${'x'.repeat(6000)}"`)).toThrow('full');
    expect(await ram.readEntry('t', 'ns', 'small')).toBe('j:1');
    expect(await ram.hasEntry('t', 'ns', 'big')).toBe(false);
    // replacing counts only the difference
    await ram.writeEntry('t', 'ns', 'mid', `j:"${'x'.repeat(4000)}"`);
    await ram.writeEntry('t', 'ns', 'mid', `j:"${'y'.repeat(4000)}"`);
    expect(ram.bytes).toBeLessThanOrEqual(ram.maxBytes);
  });

  it('defaults its bound to a quarter of the heap, at most 256 MB', () => {
    expect(defaultRAMNKVMaxSizeMB()).toBeGreaterThan(0);
    expect(defaultRAMNKVMaxSizeMB()).toBeLessThanOrEqual(256);
    expect(new RAMNKVConnector().maxBytes).toBe(defaultRAMNKVMaxSizeMB() * 1024 * 1024);
  });
});
