import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import type { AwsClientConfig } from '../../core/aws-client';
import { AwsServiceSettings } from '../../core/aws-service';
import {
  isAlreadyExisting,
  isMissing,
  isPendingDeletion,
  SecretNames,
  SecretsManagerCalls,
} from '../../core/aws-secrets';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type { ManagedVaultBackend } from '../managed-vault.backend';

/** The tag every secret this connector creates carries (the original's). */
export const MANAGED_VAULT_TAG = 'smyth-managed-vault';

export class SecretManagerManagedVaultSettings extends AwsServiceSettings {
  /** Secrets are named `[<prefix>/]<teamId>/<key>`; empty by default, as the original named them. */
  @IsOptional()
  @IsString()
  @Matches(/^([A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*)?$/, {
    message: 'must be empty or secret-name characters without a leading or trailing slash',
  })
  prefix?: string = '';

  /**
   * Days a deleted secret stays recoverable (7 to 30, the original's 7); `0` deletes at once.
   * Until then its name is taken: a write restores it, a read finds nothing.
   */
  @IsOptional()
  @IsInt()
  @IsIn([0, ...Array.from({ length: 24 }, (_, i) => i + 7)], { message: 'must be 0 or 7 to 30' })
  @Min(0)
  @Max(30)
  recoveryWindowDays?: number = 7;

  /** The seed documents it; the original never used it. Accepted so that seed configs boot; ignored. */
  @IsOptional()
  @IsString()
  vaultName?: string;
}

/**
 * Runtime-written secrets (OAuth tokens, ...) in AWS Secrets Manager: one secret per key named
 * `[<prefix>/]<teamId>/<key>`, tagged `smyth-managed-vault=true`, its value stored one way on every
 * path (create, update, restore: W17) as the original created it, `{"<key>":"<value>"}`. Lookups
 * are by that name only, never by listing the team's secrets (W17). Values are never logged (W18)
 * and never quoted in errors (only names are).
 */
export class SecretManagerManagedVaultConnector implements ManagedVaultBackend {
  static readonly connectorName = 'SecretManagerManagedVault';
  static readonly settingsClass = SecretManagerManagedVaultSettings;

  private readonly names: SecretNames;
  private calls?: SecretsManagerCalls;

  constructor(
    private readonly settings: SecretManagerManagedVaultSettings = new SecretManagerManagedVaultSettings(),
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }> = createConnectorContext({
      subsystem: 'ManagedVault',
      connector: 'SecretManagerManagedVault',
    }),
  ) {
    this.names = new SecretNames(settings.prefix ?? '');
  }

  async connect(): Promise<void> {
    this.calls ??= new SecretsManagerCalls(this.settings, this.context);
  }

  async disconnect(): Promise<void> {
    this.calls?.close();
    this.calls = undefined;
  }

  async ping(): Promise<void> {
    await this.client().describe(this.names.teamFolder('sre-ping') + 'ping');
  }

  async readSecret(team: string, key: string): Promise<string | undefined> {
    const name = this.names.nameOf(team, key);
    if (name === undefined) return undefined;
    const stored = await this.client().value(name);
    return stored === undefined ? undefined : unwrap(stored, key);
  }

  async writeSecret(team: string, key: string, value: string): Promise<void> {
    const name = this.nameOf(team, key);
    const wrapped = JSON.stringify({ [key]: value });
    const calls = this.client();
    try {
      await calls.put(name, wrapped);
      return;
    } catch (error) {
      if (isPendingDeletion(error)) return this.restoreAndPut(name, wrapped);
      if (!isMissing(error)) throw error;
    }
    try {
      await calls.create(name, wrapped, { [MANAGED_VAULT_TAG]: 'true' });
    } catch (error) {
      // a concurrent writer created it first, or it was deleted and is pending deletion
      if (isAlreadyExisting(error)) await calls.put(name, wrapped);
      else if (isPendingDeletion(error)) await this.restoreAndPut(name, wrapped);
      else throw error;
    }
  }

  async deleteSecret(team: string, key: string): Promise<void> {
    const name = this.names.nameOf(team, key);
    if (name !== undefined) await this.client().remove(name, this.settings.recoveryWindowDays ?? 7);
  }

  async secretExists(team: string, key: string): Promise<boolean> {
    const name = this.names.nameOf(team, key);
    if (name === undefined) return false;
    const state = await this.client().describe(name);
    return state !== undefined && !state.pendingDeletion;
  }

  private async restoreAndPut(name: string, wrapped: string): Promise<void> {
    await this.client().restore(name);
    await this.client().put(name, wrapped);
  }

  private nameOf(team: string, key: string): string {
    const name = this.names.nameOf(team, key);
    if (name === undefined) throw new RangeError(`the secret name of '${key}' exceeds 512 characters`);
    return name;
  }

  private client(): SecretsManagerCalls {
    return (this.calls ??= new SecretsManagerCalls(this.settings, this.context));
  }
}

/**
 * The value inside `{"<key>":"<value>"}`; anything else as stored (the original's updates wrote
 * raw values, and secrets written by hand are read as they are).
 */
function unwrap(stored: string, key: string): string {
  if (!stored.startsWith('{')) return stored;
  try {
    const parsed = JSON.parse(stored) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const entries = Object.entries(parsed);
      if (entries.length === 1 && entries[0][0] === key && typeof entries[0][1] === 'string') return entries[0][1];
    }
  } catch {
    // not JSON: a raw value
  }
  return stored;
}
