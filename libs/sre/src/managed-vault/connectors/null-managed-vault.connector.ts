import type { ManagedVaultBackend } from '../managed-vault.backend';

/**
 * A managed vault that keeps nothing: every read is missing (`undefined`, `exists` false), and
 * every write or delete is accepted and dropped. It never throws on a write (the original's
 * read-only ACL denied them, W18), never logs a value (the original logged it at debug), and
 * decides nothing: the service still denies a candidate that has no team.
 */
export class NullManagedVaultConnector implements ManagedVaultBackend {
  static readonly connectorName = 'NullManagedVault';

  async readSecret(): Promise<string | undefined> {
    return undefined;
  }

  async writeSecret(): Promise<void> {}

  async deleteSecret(): Promise<void> {}

  async secretExists(): Promise<boolean> {
    return false;
  }
}
