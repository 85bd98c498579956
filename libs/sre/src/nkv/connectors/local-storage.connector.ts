import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IsBoolean, IsNotEmpty, IsOptional, IsString } from 'class-validator';
import { createConnectorContext, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { AtomicFiles } from '../../core/fs/atomic-file';
import { ensureDir, isAbsent, syncFolder, unlinkIfPresent } from '../../core/fs/fs-util';
import { KeyedLock } from '../../core/fs/keyed-lock';
import type { NKVBackend, NKVStoredEntry } from '../nkv.backend';

const fsp = fs.promises;

export class LocalStorageNKVSettings {
  /** Root folder; created when missing (default `<dataDir>/nkv`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  folder?: string;

  /**
   * fsync every entry file before it is renamed into place, and its folder after, so that an
   * acknowledged write survives a power loss. Turn off only for scratch data (tests).
   */
  @IsOptional()
  @IsBoolean()
  fsync?: boolean = true;
}

/** Names up to this many UTF-8 bytes are hex-encoded in full (`x` + 240 hex digits = 241 bytes). */
const MAX_PLAIN_BYTES = 120;
/** A temp file or a removed namespace untouched for this long belongs to a writer that died. */
const STALE_TEMP_MS = 3_600_000;
/** Entry files read at once by `listEntries`. */
const LIST_PARALLEL = 32;

/**
 * The file-name form of a team, namespace or key: `x` + the lower-case hex of its UTF-8 when that
 * fits in 241 bytes, else `h` + the SHA-256 of its UTF-8 in hex. Injective on well-formed strings
 * (hashes aside, and every file records its names in full, see `parseNKVEntryFile`), only `[0-9a-fx h]`,
 * so no name is `.`/`..`, holds a `/`, or changes under case folding or Unicode normalisation.
 */
export function nkvFileName(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  return bytes.length <= MAX_PLAIN_BYTES
    ? `x${bytes.toString('hex')}`
    : `h${createHash('sha256').update(bytes).digest('hex')}`;
}

/** An entry file: its names as a JSON array `[team, namespace, key]`, a line break, the value verbatim. */
export function formatNKVEntryFile(team: string, namespace: string, key: string, value: string): string {
  return `${JSON.stringify([team, namespace, key])}\n${value}`;
}

/** Reverses `formatNKVEntryFile`; throws on a damaged file (the message never quotes it). */
export function parseNKVEntryFile(text: string): { names: [string, string, string]; value: string } {
  const end = text.indexOf('\n');
  let names: unknown;
  try {
    names = end < 0 ? undefined : JSON.parse(text.slice(0, end));
  } catch {
    // reported below
  }
  if (!Array.isArray(names) || names.length !== 3 || !names.every((name) => typeof name === 'string'))
    throw new Error('a stored NKV entry file is damaged');
  return { names: names as [string, string, string], value: text.slice(end + 1) };
}

/**
 * NKV on the local file system, one file per key (see docs/nkv.md):
 * `<folder>/teams/<team>/<namespace>/<key>`, every component encoded by `nkvFileName`, writes in
 * progress in `<folder>/.tmp`. A write goes to a temp file, is flushed and renamed over the old
 * one (then the folder is flushed), so a reader or a crash sees the old value or the new, never a
 * torn file. `deleteNamespace` renames the namespace folder into `.tmp` (atomic) and removes it
 * there, so a namespace is gone at once and nothing else is touched. Writers in several processes
 * sharing one folder are safe per key (the last rename wins).
 */
export class LocalStorageNKVConnector implements NKVBackend {
  static readonly connectorName = 'LocalStorage';
  static readonly settingsClass = LocalStorageNKVSettings;

  readonly folder: string;
  private readonly teamsRoot: string;
  private readonly files: AtomicFiles;
  private readonly locks = new KeyedLock();

  constructor(
    private readonly settings: LocalStorageNKVSettings = {},
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'NKV',
      connector: 'LocalStorage',
    }),
  ) {
    this.folder = path.resolve(settings.folder ?? path.join(context.dataDir, 'nkv'));
    this.teamsRoot = path.join(this.folder, 'teams');
    this.files = new AtomicFiles(path.join(this.folder, '.tmp'), settings.fsync ?? true);
  }

  async connect(): Promise<void> {
    // W20: the configured folder is created, never replaced by another one
    await ensureDir(this.teamsRoot);
    await ensureDir(this.files.tempDir);
    await this.files.removeStale(STALE_TEMP_MS);
  }

  async disconnect(): Promise<void> {}

  async readEntry(team: string, namespace: string, key: string): Promise<string | undefined> {
    const file = this.entryPath(team, namespace, key);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
    const { names, value } = parseNKVEntryFile(text);
    // a hashed name whose file records other names is another entry's: this one is missing
    return names[0] === team && names[1] === namespace && names[2] === key ? value : undefined;
  }

  async writeEntry(team: string, namespace: string, key: string, value: string): Promise<void> {
    if (typeof value !== 'string') throw new SreInvalidInputError('an NKV value must be a string', this.source());
    const file = this.entryPath(team, namespace, key);
    await this.locks.run(file, async () => {
      await this.files.write(file, formatNKVEntryFile(team, namespace, key, value));
      if (this.settings.fsync ?? true) await syncFolder(path.dirname(file));
    });
  }

  async deleteEntry(team: string, namespace: string, key: string): Promise<void> {
    const file = this.entryPath(team, namespace, key);
    await this.locks.run(file, async () => {
      if ((await this.readEntry(team, namespace, key)) !== undefined) await unlinkIfPresent(file);
    });
  }

  async hasEntry(team: string, namespace: string, key: string): Promise<boolean> {
    return (await this.readEntry(team, namespace, key)) !== undefined;
  }

  async listEntries(team: string, namespace: string): Promise<NKVStoredEntry[]> {
    const dir = this.namespacePath(team, namespace);
    let names: fs.Dirent[];
    try {
      names = await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isAbsent(error)) return [];
      throw error;
    }
    const files = names.filter((entry) => entry.isFile()).map((entry) => path.join(dir, entry.name));
    const entries: NKVStoredEntry[] = [];
    for (let i = 0; i < files.length; i += LIST_PARALLEL) {
      const texts = await Promise.all(
        files.slice(i, i + LIST_PARALLEL).map((file) => fsp.readFile(file, 'utf8').catch(absentAsUndefined)),
      );
      for (const text of texts) {
        if (text === undefined) continue; // deleted meanwhile
        const {
          names: [t, ns, key],
          value,
        } = parseNKVEntryFile(text);
        if (t === team && ns === namespace) entries.push({ key, value });
      }
    }
    return entries;
  }

  async deleteNamespace(team: string, namespace: string): Promise<void> {
    const dir = this.namespacePath(team, namespace);
    const trash = path.join(this.files.tempDir, `ns-${randomUUID()}`);
    try {
      await fsp.rename(dir, trash);
    } catch (error) {
      if (isAbsent(error)) return;
      throw error;
    }
    await fsp.rm(trash, { recursive: true, force: true });
  }

  private namespacePath(team: string, namespace: string): string {
    this.assertName(team, 'team');
    this.assertName(namespace, 'namespace');
    return path.join(this.teamsRoot, nkvFileName(team), nkvFileName(namespace));
  }

  private entryPath(team: string, namespace: string, key: string): string {
    const dir = this.namespacePath(team, namespace);
    this.assertName(key, 'key');
    return path.join(dir, nkvFileName(key));
  }

  /** Names the file form cannot keep apart: not a non-empty string, or a lone UTF-16 surrogate. */
  private assertName(name: unknown, what: string): asserts name is string {
    if (typeof name !== 'string' || name.length === 0)
      throw new SreInvalidInputError(`invalid NKV ${what}: must be a non-empty string`, this.source());
    if (/\p{Cs}/u.test(name))
      throw new SreInvalidInputError(`invalid NKV ${what}: a lone UTF-16 surrogate is not allowed`, this.source());
  }

  private source() {
    return sourceOf(this.context);
  }
}

function absentAsUndefined(error: unknown): undefined {
  if (isAbsent(error)) return undefined;
  throw error;
}
