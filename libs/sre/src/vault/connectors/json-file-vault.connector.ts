import {
  IsBoolean,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type { VaultBackend } from '../vault.backend';
import { interpolateEnv, VaultFileReader, watchVaultFile, type VaultNamespaces } from './json-file-vault.files';

export { findVaultFile, VAULT_FILE_NAMES, vaultFileCandidates } from './json-file-vault.files';

@ValidatorConstraint({ name: 'rsaFileKey' })
class RsaFileKeyUnsupported implements ValidatorConstraintInterface {
  validate(): boolean {
    return false;
  }

  defaultMessage(): string {
    return 'RSA-encrypted vault files are not supported; re-encrypt the vault with the vault CLI and set keyFile or keyEnv';
  }
}

const ID_PATTERN = /^[A-Za-z0-9-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class JSONFileVaultSettings {
  /**
   * The vault file; set but missing, the connect fails. Unset: the first of `vault.json`,
   * `vault/vault.json`, `.sre/vault.json` in the data dir, `./.smyth`, the entry script's `.smyth`
   * and `~/.smyth` (not in tests), see docs/vault.md; none found, the vault is empty.
   */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  file?: string;

  /** A team whose secrets back-fill every team (the original's runtime default was `'default'`). Off unless set (W12). */
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: "must use letters, digits and '-' only" })
  shared?: string;

  /** A file holding the key of an encrypted vault file (32 bytes as hex/base64, or a passphrase). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  keyFile?: string;

  /** The name of an environment variable holding the key; tried before `keyFile`. */
  @IsOptional()
  @IsString()
  @Matches(ENV_NAME, { message: 'must be an environment variable name' })
  keyEnv?: string;

  /** Re-read the file when it changes; a bad re-read keeps the last good content. */
  @IsOptional()
  @IsBoolean()
  watch?: boolean = false;

  /** The original's RSA private key path: refused with an explanation instead of "unknown setting". */
  @IsOptional()
  @Validate(RsaFileKeyUnsupported)
  fileKey?: never;
}

/**
 * Secrets from a JSON file `{ "<team>": { "<key>": "<value>" } }`, optionally encrypted at rest
 * (AES-256-GCM, see vault-crypto.ts). Read whole at connect, held in memory; `$env(NAME)` inside a
 * value is replaced from the environment at read time. Never prompts (W13): every problem is an
 * error or a warning.
 */
export class JSONFileVaultConnector implements VaultBackend {
  static readonly connectorName = 'JSONFileVault';
  static readonly settingsClass = JSONFileVaultSettings;

  private readonly reader: VaultFileReader;
  private namespaces: VaultNamespaces = new Map();
  private filePath?: string;
  private watcher?: { close(): void };
  private closed = false;
  private reloading?: Promise<void>;
  private reloadAgain = false;
  private readonly warnedEnv = new Set<string>();
  /** Each namespace's sorted keys, built once per loaded content (a reload replaces every map). */
  private readonly keyLists = new WeakMap<ReadonlyMap<string, string>, readonly string[]>();

  constructor(
    private readonly settings: JSONFileVaultSettings = new JSONFileVaultSettings(),
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'Vault',
      connector: 'JSONFileVault',
    }),
  ) {
    this.reader = new VaultFileReader(settings, context);
  }

  /** The file the secrets come from, once connected (`undefined`: none was found). */
  get file(): string | undefined {
    return this.filePath;
  }

  get sharedTeam(): string | undefined {
    return this.settings.shared;
  }

  async connect(): Promise<void> {
    this.closed = false;
    const file = this.reader.locate();
    if (file === undefined) {
      this.namespaces = new Map();
      return;
    }
    this.namespaces = await this.reader.load(file, true);
    this.filePath = file;
    if (this.settings.watch) {
      this.watcher?.close();
      this.watcher = watchVaultFile(
        file,
        () => void this.reload(),
        this.context,
        (e) => this.reader.describe(e),
      );
    }
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    await this.reloading;
    this.namespaces = new Map();
  }

  async getSecret(team: string, key: string): Promise<string | undefined> {
    // own entries only: a team or key named like an Object member is just missing
    const value = this.namespaces.get(team)?.get(key);
    return value === undefined ? undefined : interpolateEnv(value, (name) => this.warnUnset(name, team, key));
  }

  async listSecretKeys(team: string): Promise<string[]> {
    const secrets = this.namespaces.get(team);
    if (secrets === undefined) return [];
    let keys = this.keyLists.get(secrets);
    if (keys === undefined) {
      keys = [...secrets.keys()].sort();
      this.keyLists.set(secrets, keys);
    }
    // sorted once per loaded content; the caller gets its own copy to sort or splice
    return keys.slice();
  }

  /** Re-reads the vault file now (what `watch` does on change). A bad read keeps the current content. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          if (!this.filePath || this.closed) return;
          try {
            this.namespaces = await this.reader.load(this.filePath);
            this.context.logger.log(`reloaded ${this.filePath}`);
          } catch (error) {
            this.context.logger.warn(
              `reloading ${this.filePath} failed, keeping the previous content: ${this.reader.describe(error)}`,
            );
          }
        } while (this.reloadAgain);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private warnUnset(name: string, team: string, key: string): void {
    if (this.warnedEnv.has(name)) return;
    this.warnedEnv.add(name);
    this.context.logger.warn(
      `secret '${key}' of team '${team}' references $env(${name}), which is not set; the reference is left as is`,
    );
  }
}
