import * as fs from 'node:fs';
import * as path from 'node:path';
import { labelOf, redactWith, sourceOf, type ConnectorContext } from '../../core/backend';
import { searchRoots } from '../../core/data-dir';
import { SreBackendError, SreConfigError, SreError } from '../../core/errors';
import { decryptVault, isEncryptedVault, isLegacyEncryptedVault } from '../vault-crypto';

/** File names looked for in each search folder, in order (the original's list). */
export const VAULT_FILE_NAMES = [
  'vault.json',
  path.join('vault', 'vault.json'),
  path.join('.sre', 'vault.json'),
] as const;

const IN_SRE_FOLDER = path.join('.sre', 'vault.json');

/**
 * Every path searched for a vault file, in order: each folder, each file name, without duplicates.
 * A folder that is itself named `.sre` (the default data dir) is not searched for `.sre/vault.json`.
 */
export function vaultFileCandidates(roots: readonly string[]): string[] {
  const candidates = roots.flatMap((root) =>
    VAULT_FILE_NAMES.filter((name) => name !== IN_SRE_FOLDER || path.basename(root) !== '.sre').map((name) =>
      path.join(root, name),
    ),
  );
  return [...new Set(candidates)];
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

/** Secrets by team, then by key: only string values of object-valued teams. */
export type VaultNamespaces = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Where the file and its key come from (the connector's settings). */
export interface VaultFileSource {
  file?: string;
  keyFile?: string;
  keyEnv?: string;
  watch?: boolean;
  shared?: string;
}

const ENV_REFERENCE = /\$env\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)/g;

/** Replaces `$env(NAME)` from the environment; an unset variable is left verbatim and reported. */
export function interpolateEnv(value: string, onUnset: (name: string) => void): string {
  if (!value.includes('$env(')) return value;
  return value.replace(ENV_REFERENCE, (match, name: string) => {
    const found = process.env[name];
    if (found !== undefined) return found;
    onUnset(name);
    return match;
  });
}

/**
 * Finds, reads, decrypts and indexes the vault file of one connector. Every problem a user can fix
 * is an `SreConfigError` naming files and variables, never a value or a key; nothing prompts (W13).
 */
export class VaultFileReader {
  constructor(
    private readonly source: VaultFileSource,
    private readonly context: ConnectorContext,
  ) {}

  /**
   * The file named by the settings (which must exist), else the first one found; `undefined`: none.
   * Finding none is a warning when the vault was asked for (configured, or settings that expect a
   * file: a key, `watch`, `shared`); with the seed's default filled in by SreModule it is one debug
   * line: an empty vault is normal then.
   */
  locate(): string | undefined {
    if (this.source.file !== undefined) {
      const file = path.resolve(this.source.file);
      if (!fs.existsSync(file)) throw this.configError(`vault file ${file} does not exist (settings.file)`);
      return file;
    }
    const roots = searchRoots(this.context.dataDir);
    const found = findVaultFile(roots);
    if (found === undefined) {
      const searched = vaultFileCandidates(roots).join(', ');
      const expecting = this.settingsExpectingAFile();
      if (expecting.length)
        this.context.logger.warn(
          `no vault file found, the vault is empty${this.source.watch ? ' and not watched' : ''} although ${expecting.join(', ')} ${expecting.length > 1 ? 'are' : 'is'} set (searched: ${searched}); set settings.file to name one`,
        );
      else if (!this.context.implicit)
        this.context.logger.warn(
          `no vault file found, the vault is empty (searched: ${searched}); set settings.file to name one`,
        );
      else this.context.logger.debug(`no vault file found, the vault is empty (searched: ${searched})`);
    }
    return found;
  }

  /** Reads, decrypts and indexes the file. `first` adds the once-per-connect permission warnings. */
  async load(file: string, first = false): Promise<VaultNamespaces> {
    let parsed = this.parse(await this.readText(file, 'vault file', first), `vault file ${file}`);
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
    } else if (first && (this.source.keyFile !== undefined || this.source.keyEnv !== undefined)) {
      this.context.logger.warn(`a vault key is configured but vault file ${file} is not encrypted`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw this.configError(`vault file ${file} must hold a JSON object of teams`);
    }
    const namespaces = new Map<string, Map<string, string>>();
    for (const [team, secrets] of Object.entries(parsed)) {
      if (typeof secrets !== 'object' || secrets === null || Array.isArray(secrets)) continue;
      const keys = new Map<string, string>();
      // only strings count as secrets [compat]
      for (const [key, value] of Object.entries(secrets)) if (typeof value === 'string') keys.set(key, value);
      namespaces.set(team, keys);
    }
    return namespaces;
  }

  /** What went wrong, for a log line: names files and codes, secrets scrubbed. */
  describe(error: unknown): string {
    const label = `${labelOf(this.context)}: `;
    if (error instanceof SreConfigError) return error.problems.map((p) => p.replace(label, '')).join('; ');
    if (error instanceof SreError) return error.message;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return code ? String(code) : redactWith(this.context, error instanceof Error ? error.message : String(error));
  }

  /** The settings that only mean something with a vault file (`file` itself fails when missing). */
  private settingsExpectingAFile(): string[] {
    const { keyFile, keyEnv, watch, shared } = this.source;
    return [
      keyFile !== undefined && 'settings.keyFile',
      keyEnv !== undefined && 'settings.keyEnv',
      watch === true && 'settings.watch',
      shared !== undefined && 'settings.shared',
    ].filter((name): name is string => name !== false);
  }

  /** The key: `keyEnv` when that variable is set, else `keyFile`. */
  private async readKey(vaultFile: string, first: boolean): Promise<string> {
    const { keyEnv, keyFile } = this.source;
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
      throw new SreBackendError(
        `${labelOf(this.context)}: reading ${what} ${file}: ${this.describe(error)}`,
        sourceOf(this.context),
        { cause: error },
      );
    }
  }

  private checkMode(file: string, what: string): void {
    if (process.platform === 'win32') return;
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      this.context.logger.warn(
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

  private configError(problem: string): SreConfigError {
    return new SreConfigError([`${labelOf(this.context)}: ${problem}`]);
  }
}

/**
 * Calls `onChange` (debounced) when `file` is replaced or rewritten. Watches the folder, not the
 * file: editors and the CLI replace the file by rename, which ends a watch on the file itself.
 */
export function watchVaultFile(
  file: string,
  onChange: () => void,
  context: ConnectorContext,
  describe: (error: unknown) => string,
  debounceMs = 100,
): { close(): void } {
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== base) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
      timer.unref();
    });
    watcher.on('error', (error) => context.logger.warn(`watching ${file} stopped: ${describe(error)}`));
  } catch (error) {
    context.logger.warn(`cannot watch ${file}, changes will not be picked up: ${describe(error)}`);
  }
  return {
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
