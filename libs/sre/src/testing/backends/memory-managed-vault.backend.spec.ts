import { describeManagedVaultBackend } from '../managed-vault.contract';
import { MemoryManagedVaultBackend } from './memory-managed-vault.backend';

describeManagedVaultBackend('MemoryManagedVault', () => new MemoryManagedVaultBackend());

describe('MemoryManagedVaultBackend', () => {
  it('shows what was written under <team>/<key>', async () => {
    const backend = new MemoryManagedVaultBackend();
    await backend.writeSecret('team-a', 'oauth:google', 't1');
    await backend.writeSecret('team-b', 'a/b', 't2');
    expect([...backend.secrets]).toEqual([
      ['team-a/oauth:google', 't1'],
      ['team-b/a/b', 't2'],
    ]);
  });
});
