import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { LRUCache } from 'lru-cache';
import type { AwsClientConfig } from '../../core/aws-client';
import { AwsServiceSettings } from '../../core/aws-service';
import { SecretNames, SecretsManagerCalls } from '../../core/aws-secrets';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type { VaultBackend } from '../vault.backend';

export class SecretsManagerVaultSettings extends AwsServiceSettings {
  /** Secrets are named `<prefix>/<teamId>/<key>` (no `prefix/` when empty), as the original named them. */
  @IsOptional()
  @IsString()
  @Matches(/^([A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*)?$/, {
    message: 'must be empty or secret-name characters without a leading or trailing slash',
  })
  prefix?: string = 'smythos';

  /** A team whose secrets back-fill every team. Off unless set (W12). */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9-]+$/, { message: "must use letters, digits and '-' only" })
  shared?: string;

  /**
   * Seconds a read (value, absence or key list) is served from this process before AWS is asked
   * again; `0` (the default) caches nothing. Entries are per team and key: a team is only ever
   * served what was read for that team. A rotated secret is seen after at most this long.
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3_600)
  cacheTtlSeconds?: number = 0;

  /** Entries the cache holds at most (least recently used ones go first). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  cacheMaxEntries?: number = 10_000;
}

type Cached = { value: string | undefined } | { keys: string[] };

/**
 * Read-only secrets in AWS Secrets Manager, one secret per key named `<prefix>/<teamId>/<key>`.
 * Explicit keys are used as credentials (W15), else the shared AWS client, else the default
 * chain. A missing secret (or one pending deletion) is `undefined`; every other failure (denied,
 * throttled, unreachable) is an error saying which (W56), never `undefined`.
 */
export class SecretsManagerVaultConnector implements VaultBackend {
  static readonly connectorName = 'SecretsManager';
  static readonly settingsClass = SecretsManagerVaultSettings;

  readonly sharedTeam?: string;
  private readonly names: SecretNames;
  private readonly cache?: LRUCache<string, Cached>;
  private calls?: SecretsManagerCalls;

  constructor(
    private readonly settings: SecretsManagerVaultSettings = new SecretsManagerVaultSettings(),
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }> = createConnectorContext({
      subsystem: 'Vault',
      connector: 'SecretsManager',
    }),
  ) {
    this.sharedTeam = settings.shared;
    this.names = new SecretNames(settings.prefix ?? 'smythos');
    const ttl = settings.cacheTtlSeconds ?? 0;
    if (ttl > 0) this.cache = new LRUCache({ max: settings.cacheMaxEntries ?? 10_000, ttl: ttl * 1000 });
  }

  async connect(): Promise<void> {
    this.calls ??= new SecretsManagerCalls(this.settings, this.context);
  }

  async disconnect(): Promise<void> {
    this.calls?.close();
    this.calls = undefined;
    this.cache?.clear();
  }

  /** One cheap authenticated call: proves the endpoint answers and the credentials are accepted. */
  async ping(): Promise<void> {
    await this.client().names(this.names.teamFolder('sre-ping'));
  }

  async getSecret(team: string, key: string): Promise<string | undefined> {
    const name = this.names.nameOf(team, key);
    if (name === undefined) return undefined;
    const hit = this.cache?.get(cacheKey('value', team, key));
    if (hit && 'value' in hit) return hit.value;
    const value = await this.client().value(name);
    this.cache?.set(cacheKey('value', team, key), { value });
    return value;
  }

  async listSecretKeys(team: string): Promise<string[]> {
    const hit = this.cache?.get(cacheKey('keys', team));
    if (hit && 'keys' in hit) return [...hit.keys];
    const names = await this.client().names(this.names.teamFolder(team));
    const keys = names.map((name) => this.names.keyOf(team, name)).filter((key) => key !== undefined);
    this.cache?.set(cacheKey('keys', team), { keys });
    return [...keys];
  }

  private client(): SecretsManagerCalls {
    return (this.calls ??= new SecretsManagerCalls(this.settings, this.context));
  }
}

/** Team and key as one unambiguous string (team ids never hold a NUL; keys never do either). */
function cacheKey(kind: string, team: string, key = ''): string {
  return `${kind}\u0000${team}\u0000${key}`;
}
