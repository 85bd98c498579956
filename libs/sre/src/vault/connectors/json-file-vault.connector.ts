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
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConnectorContext } from '../../core/connector';
import { searchRoots } from '../../core/data-dir';
import { SreConfigError, SreError } from '../../core/errors';
import { decryptVault, isEncryptedVault, isLegacyEncryptedVault } from '../vault-crypto';
import { VaultService } from '../vault.service';

/** File names looked for in each search folder, in order (the original's list). */
export const VAULT_FILE_NAMES = [
  'vault.json',
  path.join('vault', 'vault.json'),
  path.join('.sre', 'vault.json'),
] as const;

/** Every path searched for a vault file, in order: each folder, each file name. */
export function vaultFileCandidates(roots: readonly string[]): string[] {
  return roots.flatMap((root) => VAULT_FILE_NAMES.map((name) => path.join(root, name)));
}

/** The first existing vault file under `roots`, or `undefined`. */
export function findVaultFile(roots: readonly string[]): string | undefined {
  return vaultFileCandidates(roots).find((file) => {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

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
const ENV_REFERENCE = /\$env\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)/g;
const RELOAD_DEBOUNCE_MS = 100;

export class JSONFileVaultSettings {
  /** The vault file. Unset: `vault.json`, `vault/vault.json`, `.sre/vault.json` in each search folder. */
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

type Namespaces = Map<string, Map<string, string>>;

/**
 * Secrets from a JSON file `{ "<team>": { "<key>": "<value>" } }`, optionally encrypted at rest
 * (AES-256-GCM, see vault-crypto.ts). Read whole at connect, held in memory; `$env(NAME)` inside a
 * value is replaced from the environment at read time. Never prompts (W13): every problem is an
 * error or a warning.
 */
export class JSONFileVaultConnector extends VaultService {
  static readonly connectorName = 'JSONFileVault';
  static readonly settingsClass = JSONFileVaultSettings;

  private namespaces: Namespaces = new Map();
  private filePath?: string;
  private watcher?: fs.FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  private reloading?: Promise<void>;
  private reloadAgain = false;
  private readonly warnedEnv = new Set<string>();

  constructor(
    private readonly settings: JSONFileVaultSettings = new JSONFileVaultSettings(),
    context?: ConnectorContext,
  ) {
    super(context);
  }

  /** The file the secrets come from, once connected (`undefined`: none was found). */
  get file(): string | undefined {
    return this.filePath;
  }

  protected override get sharedTeam(): string | undefined {
    return this.settings.shared;
  }

  async getSecret(team: string, key: string): Promise<string | undefined> {
    const value = this.namespaces.get(team)?.get(key);
    return value === undefined ? undefined : this.interpolate(value, team, key);
  }

  async listSecretKeys(team: string): Promise<string[]> {
    return [...(this.namespaces.get(team)?.keys() ?? [])];
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
          if (!this.filePath || this.state === 'closed') return;
          try {
            this.namespaces = await this.load(this.filePath);
            this.logger.log(`reloaded ${this.filePath}`);
          } catch (error) {
            this.logger.warn(
              `reloading ${this.filePath} failed, keeping the previous content: ${this.describe(error)}`,
            );
          }
        } while (this.reloadAgain);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  protected override async onConnect(): Promise<void> {
    const file = this.locate();
    if (file === undefined) {
      this.namespaces = new Map();
      return;
    }
    this.namespaces = await this.load(file, true);
    this.filePath = file;
    if (this.settings.watch) this.startWatching(file);
  }

  protected override async onDisconnect(): Promise<void> {
    clearTimeout(this.reloadTimer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.reloading;
    this.namespaces = new Map();
  }

  private locate(): string | undefined {
    if (this.settings.file !== undefined) {
      const file = path.resolve(this.settings.file);
      if (!fs.existsSync(file)) throw this.configError(`vault file ${file} does not exist (settings.file)`);
      return file;
    }
    const roots = searchRoots(this.context.dataDir);
    const found = findVaultFile(roots);
    if (found === undefined) {
      const searched = vaultFileCandidates(roots).join(', ');
      this.logger.warn(
        `no vault file found, the vault is empty${this.settings.watch ? ' and not watched' : ''} (searched: ${searched}); set settings.file to name one`,
      );
    }
    return found;
  }

  /** Reads, decrypts and indexes the file. `first` adds the once-per-connect permission warnings. */
  private async load(file: string, first = false): Promise<Namespaces> {
    const text = await this.readText(file, 'vault file', first);
    let parsed = this.parse(text, `vault file ${file}`);
    if (isLegacyEncryptedVault(parsed)) {
      throw this.configError(
        `vault file ${file} uses the original SmythOS encryption, which is not supported: decrypt it and re-encrypt it with the vault CLI`,
      );
    }
    if (isEncryptedVault(parsed)) {
      const key = await this.readKey(file, first);
      let plain: string;
      try {
        plain = await decryptVault(parsed, key);
      } catch (error) {
        throw this.configError(`cannot open vault file ${file}: ${this.describe(error)}`);
      }
      parsed = this.parse(plain, `decrypted vault file ${file}`);
    } else if (first && (this.settings.keyFile !== undefined || this.settings.keyEnv !== undefined)) {
      this.logger.warn(`a vault key is configured but vault file ${file} is not encrypted`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw this.configError(`vault file ${file} must hold a JSON object of teams`);
    }
    const namespaces: Namespaces = new Map();
    for (const [team, secrets] of Object.entries(parsed)) {
      if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) continue;
      const keys = new Map<string, string>();
      // only strings count as secrets [compat]
      for (const [key, value] of Object.entries(secrets)) if (typeof value === 'string') keys.set(key, value);
      namespaces.set(team, keys);
    }
    return namespaces;
  }

  /** The key: `keyEnv` when that variable is set, else `keyFile`. */
  private async readKey(vaultFile: string, first: boolean): Promise<string> {
    const { keyEnv, keyFile } = this.settings;
    const fromEnv = keyEnv !== undefined ? process.env[keyEnv] : undefined;
    if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv;
    if (keyFile !== undefined) return this.readText(path.resolve(keyFile), 'vault key file', first);
    if (keyEnv !== undefined)
      throw this.configError(
        `vault file ${vaultFile} is encrypted but the environment variable ${keyEnv} (settings.keyEnv) is not set`,
      );
    throw this.configError(
      `vault file ${vaultFile} is encrypted but no key is configured: set settings.keyFile or settings.keyEnv`,
    );
  }

  private async readText(file: string, what: string, checkMode: boolean): Promise<string> {
    try {
      if (checkMode) this.checkMode(file, what);
      return await fs.promises.readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw this.configError(`${what} ${file} does not exist`);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR')
        throw this.configError(`cannot read ${what} ${file} (${code})`);
      throw this.wrap(error, `reading ${what} ${file}`);
    }
  }

  private checkMode(file: string, what: string): void {
    if (process.platform === 'win32') return;
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      this.logger.warn(
        `${what} ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')}); restrict it with chmod 600`,
      );
    }
  }

  /** JSON.parse without its message: V8 quotes the offending text, which here is secrets. */
  private parse(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw this.configError(`${what} is not valid JSON`);
    }
  }

  private interpolate(value: string, team: string, key: string): string {
    if (!value.includes('$env(')) return value;
    return value.replace(ENV_REFERENCE, (match, name: string) => {
      const found = process.env[name];
      if (found !== undefined) return found;
      if (!this.warnedEnv.has(name)) {
        this.warnedEnv.add(name);
        this.logger.warn(
          `secret '${key}' of team '${team}' references $env(${name}), which is not set; the reference is left as is`,
        );
      }
      return match;
    });
  }

  private startWatching(file: string): void {
    const base = path.basename(file);
    try {
      // the folder, not the file: editors and the CLI replace the file by rename, which ends a file watch
      this.watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === base) this.scheduleReload();
      });
      this.watcher.on('error', (error) => this.logger.warn(`watching ${file} stopped: ${this.describe(error)}`));
    } catch (error) {
      this.logger.warn(`cannot watch ${file}, changes will not be picked up: ${this.describe(error)}`);
    }
  }

  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reload(), RELOAD_DEBOUNCE_MS);
    this.reloadTimer.unref();
  }

  private configError(problem: string): SreConfigError {
    return new SreConfigError([`${this.label()}: ${problem}`]);
  }

  private describe(error: unknown): string {
    if (error instanceof SreConfigError)
      return error.problems.map((p) => p.replace(`${this.label()}: `, '')).join('; ');
    if (error instanceof SreError) return error.message;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return code ? String(code) : this.redact(error instanceof Error ? error.message : String(error));
  }
}
