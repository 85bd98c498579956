import type { VaultBackend } from '../../vault/vault.backend';

/** Secrets by team, then by key: the shape of a JSONFileVault file. */
export type VaultSecrets = Record<string, Record<string, string>>;

/** What a vault backend under test starts with (a vault is read-only: its data comes first). */
export interface VaultSeed {
  teams?: VaultSecrets;
  /** The team whose secrets back-fill every team. */
  shared?: string;
}

/**
 * A Vault backend held in memory, for tests: `new VaultService(new MemoryVaultBackend({ teams }),
 * ctx, { account })`. Read-only to the service like every vault; tests change it with `set` and
 * `delete`. As a connector class (`VaultModule.forRoot({ connector: MemoryVaultBackend })`) it
 * starts empty.
 */
export class MemoryVaultBackend implements VaultBackend {
  static readonly connectorName = 'MemoryVault';

  readonly sharedTeam?: string;
  private readonly teams = new Map<string, Map<string, string>>();

  constructor(seed: VaultSeed = {}) {
    this.sharedTeam = seed.shared;
    for (const [team, secrets] of Object.entries(seed.teams ?? {}))
      for (const [key, value] of Object.entries(secrets)) this.set(team, key, value);
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  async getSecret(team: string, key: string): Promise<string | undefined> {
    return this.teams.get(team)?.get(key);
  }

  async listSecretKeys(team: string): Promise<string[]> {
    return [...(this.teams.get(team)?.keys() ?? [])];
  }

  /** Adds or replaces a secret (test setup: the service never writes to a vault). */
  set(team: string, key: string, value: string): this {
    let secrets = this.teams.get(team);
    if (!secrets) this.teams.set(team, (secrets = new Map()));
    secrets.set(key, value);
    return this;
  }

  delete(team: string, key: string): this {
    this.teams.get(team)?.delete(key);
    return this;
  }
}
