import type { VaultBackend } from '../vault.backend';

/**
 * A vault that holds nothing: every key is missing (`undefined`, not the original's truthy
 * `'NULLKEY'` that flowed into LLM clients as an API key, W16), and every listing is empty. It
 * decides nothing either: like every vault, the service denies a candidate that has no team.
 */
export class NullVaultConnector implements VaultBackend {
  static readonly connectorName = 'NullVault';

  async getSecret(): Promise<string | undefined> {
    return undefined;
  }

  async listSecretKeys(): Promise<string[]> {
    return [];
  }
}
