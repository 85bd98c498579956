import type { SreBackend } from '../core/backend';

/**
 * What a Vault connector implements: plain lookups in one team's namespace of read-only secrets.
 * The service validates keys and resolves the candidate's team before calling, and decides what a
 * candidate may read (its own team, then the shared team); a backend decides nothing. Throw only
 * when the backend itself fails: a missing team or key is `undefined` / `[]`, never an error, and
 * an error message never quotes a secret.
 */
export interface VaultBackend extends SreBackend {
  /** The secret, or `undefined` when the team or the key is missing. */
  getSecret(team: string, key: string): Promise<string | undefined>;
  /** The keys of one team, in any order (`[]` for an unknown team). */
  listSecretKeys(team: string): Promise<string[]>;
  /**
   * The team whose secrets back-fill every team (JSONFileVault's `shared` setting). None unless
   * configured: the original's runtime default shared the `default` team with everyone (W12).
   */
  readonly sharedTeam?: string;
}

/** Every operation of `VaultBackend` (a custom connector lacking one is refused at boot). */
export const VAULT_OPERATIONS = ['getSecret', 'listSecretKeys'] as const;
