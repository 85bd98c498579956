import type { SreBackend } from '../core/backend';

/**
 * What a ManagedVault connector implements: plain reads and writes of secrets in one team's
 * namespace, on a team id and key the service has validated and authorized. The backend decides
 * nothing. It stores one encoding whatever the path (create, update, restore of a secret pending
 * deletion: W17), finds a secret by its deterministic name only (never by listing), and never logs
 * a value nor quotes one in an error.
 */
export interface ManagedVaultBackend extends SreBackend {
  /** The secret exactly as written, or `undefined`. A secret pending deletion is missing. */
  readSecret(team: string, key: string): Promise<string | undefined>;
  /** Creates or replaces the secret (restoring one pending deletion). */
  writeSecret(team: string, key: string, value: string): Promise<void>;
  /** Removes the secret; a missing one is a no-op. */
  deleteSecret(team: string, key: string): Promise<void>;
  secretExists(team: string, key: string): Promise<boolean>;
}

/** Every operation of `ManagedVaultBackend` (a custom connector lacking one is refused at boot). */
export const MANAGED_VAULT_OPERATIONS = ['readSecret', 'writeSecret', 'deleteSecret', 'secretExists'] as const;
