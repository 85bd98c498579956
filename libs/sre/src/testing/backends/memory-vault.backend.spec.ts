import { createConnectorContext } from '../../core/backend';
import { OWN_TEAM_ONLY } from '../../security/team-resolver';
import { VaultService } from '../../vault/vault.service';
import { describeVaultBackend } from '../vault.contract';
import { MemoryVaultBackend } from './memory-vault.backend';

describeVaultBackend('MemoryVault', (seed) => new MemoryVaultBackend(seed));

describe('MemoryVaultBackend', () => {
  it('lets a test change the secrets behind a running service', async () => {
    const backend = new MemoryVaultBackend({ teams: { acme: { openai: 'sk-1' } } });
    const vault = new VaultService(backend, createConnectorContext({ subsystem: 'Vault', connector: 'MemoryVault' }), {
      account: OWN_TEAM_ONLY,
    });
    await expect(vault.team('acme').get('openai')).resolves.toBe('sk-1');
    backend.set('acme', 'openai', 'sk-2').set('acme', 'tavily', 'tv');
    await expect(vault.team('acme').get('openai')).resolves.toBe('sk-2');
    await expect(vault.team('acme').listKeys()).resolves.toEqual(['openai', 'tavily']);
    backend.delete('acme', 'openai').delete('nobody', 'x');
    await expect(vault.team('acme').exists('openai')).resolves.toBe(false);
    await vault.disconnect();
  });

  it('starts empty with no shared team when built without a seed (as a connector class)', async () => {
    const backend = new MemoryVaultBackend();
    expect(backend.sharedTeam).toBeUndefined();
    await expect(backend.listSecretKeys('acme')).resolves.toEqual([]);
  });
});
