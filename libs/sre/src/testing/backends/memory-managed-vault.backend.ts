import type { ManagedVaultBackend } from '../../managed-vault/managed-vault.backend';

/**
 * A ManagedVault backend held in memory, for tests: `new ManagedVaultService(new
 * MemoryManagedVaultBackend(), ctx, { account })`, or `ManagedVaultModule.forRoot({ connector:
 * MemoryManagedVaultBackend })`. `secrets` shows what was written, keyed `<team>/<key>` (team ids
 * hold no `/`, so the first one separates them).
 */
export class MemoryManagedVaultBackend implements ManagedVaultBackend {
  static readonly connectorName = 'MemoryManagedVault';

  readonly secrets = new Map<string, string>();

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  async readSecret(team: string, key: string): Promise<string | undefined> {
    return this.secrets.get(`${team}/${key}`);
  }

  async writeSecret(team: string, key: string, value: string): Promise<void> {
    this.secrets.set(`${team}/${key}`, value);
  }

  async deleteSecret(team: string, key: string): Promise<void> {
    this.secrets.delete(`${team}/${key}`);
  }

  async secretExists(team: string, key: string): Promise<boolean> {
    return this.secrets.has(`${team}/${key}`);
  }
}
