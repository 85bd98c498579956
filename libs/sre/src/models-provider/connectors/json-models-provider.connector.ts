import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '@nestjs/common';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { createConnectorContext, type ConnectorContext, type Version } from '../../core/backend';
import { searchRoots } from '../../core/data-dir';
import { SreInvalidInputError } from '../../core/errors';
import { describeModelMapProblem } from '../models-loader';
import type { ModelEntry, ModelMap, ModelsProviderBackend, TeamModels } from '../models-provider.backend';

export const JSON_MODELS_PROVIDER_MODES = ['merge', 'replace'] as const;
export type JSONModelsProviderMode = (typeof JSON_MODELS_PROVIDER_MODES)[number];

/** The folder looked for in the data dir and the `.smyth` locations when `models` is unset. */
export const MODELS_DIR_NAME = 'models';

/**
 * The built-in models: a small offline list (no catalogue is fetched). `echo` and `echo-small`
 * answer through the Echo LLM connector and need no credentials; the others are common provider
 * models with their published limits, their keys read from the team's vault.
 */
export const BUILTIN_MODELS: Readonly<ModelMap> = deepFreeze({
  echo: {
    modelId: 'echo',
    provider: 'Echo',
    label: 'Echo (test)',
    features: ['text', 'tools'],
    tags: ['Test'],
    tokens: 128_000,
    completionTokens: 16_384,
    enabled: true,
    credentials: 'none',
  },
  'echo-small': {
    modelId: 'echo-small',
    provider: 'Echo',
    label: 'Echo small (test, 4k context)',
    features: ['text'],
    tags: ['Test'],
    tokens: 4096,
    completionTokens: 1024,
    enabled: true,
    credentials: 'none',
  },
  'gpt-4o-mini': {
    modelId: 'gpt-4o-mini',
    provider: 'OpenAI',
    label: 'GPT-4o mini',
    features: ['text', 'image', 'tools'],
    tokens: 128_000,
    completionTokens: 16_384,
    enabled: true,
    credentials: 'vault',
  },
  'gpt-4o': {
    modelId: 'gpt-4o',
    provider: 'OpenAI',
    label: 'GPT-4o',
    features: ['text', 'image', 'tools'],
    tokens: 128_000,
    completionTokens: 16_384,
    enabled: true,
    credentials: 'vault',
  },
  'claude-3-5-haiku-latest': {
    modelId: 'claude-3-5-haiku-latest',
    provider: 'Anthropic',
    label: 'Claude 3.5 Haiku',
    features: ['text', 'tools'],
    tokens: 200_000,
    completionTokens: 8192,
    enabled: true,
    credentials: 'vault',
  },
  'gemini-2.0-flash': {
    modelId: 'gemini-2.0-flash',
    provider: 'GoogleAI',
    label: 'Gemini 2.0 Flash',
    features: ['text', 'image', 'audio', 'video', 'document', 'tools'],
    tokens: 1_048_576,
    completionTokens: 8192,
    enabled: true,
    credentials: 'vault',
  },
});

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why a `models` setting is not usable, or `undefined`. */
function modelsSettingProblem(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? 'must not be an empty path' : undefined;
  if (!isPlainObject(value))
    return 'must be a path (a folder of .json files or one .json file) or an object of entries';
  return describeModelMapProblem(value);
}

export class JSONModelsProviderSettings {
  /**
   * Where the models come from: a folder of `.json` files (read recursively, watched), one `.json`
   * file, or the entries themselves (an object by entry name). Unset: the `models` folder in the
   * data dir or a `.smyth` location, when there is one; else the built-ins only.
   */
  @IsOptional()
  @ValidateBy({
    name: 'isModelsSource',
    validator: {
      validate: (value: unknown) => modelsSettingProblem(value) === undefined,
      defaultMessage: (args) => modelsSettingProblem(args?.value) ?? 'is invalid',
    },
  })
  models?: string | ModelMap;

  /**
   * `merge` (the default, as documented, W41): the built-ins plus the configured models, a
   * configured entry replacing the built-in of the same name. `replace`: the configured models only.
   */
  @IsOptional()
  @IsIn(JSON_MODELS_PROVIDER_MODES)
  mode?: JSONModelsProviderMode = 'merge';

  /** Folder sources only: re-read the folder when a file in it is added, changed or deleted. */
  @IsOptional()
  @IsBoolean()
  watch?: boolean = true;

  /** Folder sources only: quiet time (ms) after the last change before the folder is re-read. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  debounceMs?: number = 500;
}

type Source = { kind: 'object'; models: ModelMap } | { kind: 'file'; file: string } | { kind: 'dir'; dir: string };

/**
 * The models from JSON (the seed's default ModelsProvider): built-ins, then a folder of `.json`
 * files, one file or an inline object, merged with the built-ins or replacing them (`mode`, default
 * `merge`). Every entry is validated (a string `modelId`, `provider` a string) and a bad one is
 * named with its file. A folder is watched: each change rebuilds the whole list from the files
 * (W42: a deleted file's models disappear); a file that became invalid keeps its last good models,
 * with a warning. Team additions (`addModels`) live in memory, versioned; team custom models come
 * from Account through the service.
 */
export class JSONModelsProviderConnector implements ModelsProviderBackend {
  static readonly connectorName = 'JSONModelsProvider';
  static readonly settingsClass = JSONModelsProviderSettings;

  private readonly logger: Logger;
  private readonly mode: JSONModelsProviderMode;
  private source?: Source;
  private models?: ModelMap;
  /** The last good entries of each file, by absolute path (files of a folder, or the one file). */
  private fileModels = new Map<string, ModelMap>();
  private readonly teams = new Map<string, { models: ModelMap; version: number }>();
  private writes = 0;
  private connecting?: Promise<void>;
  private queue: Promise<void> = Promise.resolve();
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private firstEventAt?: number;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly settings: JSONModelsProviderSettings = new JSONModelsProviderSettings(),
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'ModelsProvider',
      connector: 'JSONModelsProvider',
    }),
  ) {
    this.logger = context.logger;
    this.mode = settings.mode ?? 'merge';
    if (!JSON_MODELS_PROVIDER_MODES.includes(this.mode)) throw this.invalid(`settings.mode: must be merge or replace`);
    if (settings.models !== undefined) {
      const problem = modelsSettingProblem(settings.models);
      if (problem) throw this.invalid(`settings.models: ${problem}`);
    }
  }

  /** Where the models come from once connected: `object`, a file, a folder, or `builtins`. */
  get origin(): string | undefined {
    if (!this.models) return undefined;
    if (!this.source) return 'builtins';
    return this.source.kind === 'object' ? 'object' : this.source.kind === 'file' ? this.source.file : this.source.dir;
  }

  async connect(): Promise<void> {
    this.closed = false;
    this.connecting ??= this.open().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
    this.connecting = undefined;
    for (const wake of this.waiters.splice(0)) wake();
  }

  async readModels(): Promise<ModelMap> {
    if (!this.models) await this.connect();
    return this.models!;
  }

  readTeamModels(teamId: string): TeamModels | undefined {
    const stored = this.teams.get(teamId);
    return stored && { models: structuredClone(stored.models), version: stored.version };
  }

  writeTeamModels(teamId: string, models: ModelMap, ifVersion: Version | undefined): boolean {
    if (this.teams.get(teamId)?.version !== ifVersion) return false;
    this.teams.set(teamId, { models: structuredClone(models), version: ++this.writes });
    return true;
  }

  /** The limits of the global model named (or with the `modelId`) `foundationModel`, when it has any. */
  customModelDefaults(foundationModel: string): Partial<ModelEntry> | undefined {
    const models = this.models ?? BUILTIN_MODELS;
    const entry = Object.hasOwn(models, foundationModel)
      ? models[foundationModel]
      : Object.values(models).find((candidate) => candidate.modelId === foundationModel);
    if (!entry || (entry.tokens === undefined && entry.completionTokens === undefined)) return undefined;
    return {
      ...(entry.tokens !== undefined ? { tokens: entry.tokens } : {}),
      ...(entry.completionTokens !== undefined ? { completionTokens: entry.completionTokens } : {}),
    };
  }

  /**
   * Reads the source again and rebuilds the list (what the folder watcher calls). A file that fails
   * keeps its last good models and is named in a warning; a file or folder that is gone contributes
   * nothing. Calls run one after another; each resolves once its own read is done.
   */
  reload(): Promise<void> {
    const run = this.queue.then(() => this.load(false));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves after the next completed reload (or at disconnect): for tests and tools that wait for the watcher. */
  nextReload(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async open(): Promise<void> {
    this.source = this.resolveSource();
    await this.load(true);
    if (this.source?.kind === 'dir' && this.settings.watch !== false) this.watch(this.source.dir);
  }

  private resolveSource(): Source | undefined {
    const models = this.settings.models;
    if (isPlainObject(models)) return { kind: 'object', models: structuredClone(models) };
    if (typeof models === 'string') {
      const resolved = path.resolve(models);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(resolved);
      } catch {
        throw new Error(
          `models path ${resolved} does not exist (settings.models: a folder of .json files or a .json file)`,
        );
      }
      return stat.isDirectory() ? { kind: 'dir', dir: resolved } : { kind: 'file', file: resolved };
    }
    for (const root of searchRoots(this.context.dataDir)) {
      const dir = path.join(root, MODELS_DIR_NAME);
      if (isDirectory(dir)) return { kind: 'dir', dir };
    }
    return undefined;
  }

  /** Rebuilds `models` from the source; `strict` (at connect) fails on the first bad file instead of warning. */
  private async load(strict: boolean): Promise<void> {
    if (!strict && this.closed) return;
    const source = this.source;
    let configured: ModelMap = {};
    if (source?.kind === 'object') configured = source.models;
    else if (source?.kind === 'file') configured = await this.loadFiles([source.file], strict);
    else if (source?.kind === 'dir')
      configured = await this.loadFiles(await this.listFiles(source.dir, strict), strict);
    this.models =
      source && this.mode === 'replace' ? configured : { ...structuredClone(BUILTIN_MODELS), ...configured };
    if (!strict) for (const wake of this.waiters.splice(0)) wake();
  }

  /** The entries of `files`, in order (a later file's entry replaces an earlier one of the same name). */
  private async loadFiles(files: string[], strict: boolean): Promise<ModelMap> {
    const next = new Map<string, ModelMap>();
    for (const file of files) {
      try {
        next.set(file, await readModelsFile(file));
      } catch (error) {
        if (strict) throw error;
        const kept = this.fileModels.get(file);
        this.logger.warn(`${(error as Error).message}; ${kept ? 'its last good models are kept' : 'it is skipped'}`);
        if (kept) next.set(file, kept);
      }
    }
    this.fileModels = next;
    const configured: ModelMap = {};
    for (const models of next.values()) Object.assign(configured, models);
    return configured;
  }

  /** The `.json` files under `dir`, sorted, skipping names that start with a dot (and what is below them). */
  private async listFiles(dir: string, strict: boolean): Promise<string[]> {
    const found: string[] = [];
    const walk = async (folder: string): Promise<void> => {
      const entries = await fs.promises.readdir(folder, { withFileTypes: true });
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const full = path.join(folder, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && entry.name.toLowerCase().endsWith('.json')) found.push(full);
      }
    };
    try {
      await walk(dir);
    } catch (error) {
      if (strict) throw new Error(`models folder ${dir} cannot be read: ${(error as Error).message}`, { cause: error });
      this.logger.warn(
        `models folder ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); it holds no models now`,
      );
      return [];
    }
    return found.sort();
  }

  private watch(dir: string): void {
    const onChange = () => this.schedule();
    try {
      this.watcher = fs.watch(dir, { recursive: true, persistent: false }, onChange);
    } catch {
      // recursive watching is not available everywhere: watch the top folder only
      this.watcher = fs.watch(dir, { persistent: false }, onChange);
    }
    this.watcher.on('error', (error) => this.logger.warn(`watching ${dir} failed: ${error.message}`));
  }

  /** Debounced: one reload after `debounceMs` of quiet, and at least every 5 × `debounceMs` while changes go on. */
  private schedule(): void {
    if (this.closed) return;
    const wait = this.settings.debounceMs ?? 500;
    const now = Date.now();
    this.firstEventAt ??= now;
    if (this.timer) clearTimeout(this.timer);
    const due = Math.min(wait, Math.max(0, this.firstEventAt + 5 * wait - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.firstEventAt = undefined;
      this.reload().catch((error: unknown) =>
        this.logger.warn(`reloading the models failed: ${(error as Error).message}`),
      );
    }, due);
    this.timer.unref();
  }

  private invalid(why: string): SreInvalidInputError {
    return new SreInvalidInputError(why, { subsystem: this.context.subsystem, connector: this.context.connector });
  }
}

/**
 * The entries of one models file: a single entry (it has a string `modelId`; keyed by it) or an
 * object of entries by name. Errors name the file and the bad entries, never their content.
 */
export async function readModelsFile(file: string): Promise<ModelMap> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new Error(`models file ${file} cannot be read (${code})`, { cause: error });
    // no cause: a JSON parse error quotes the text, and an entry's credentials may hold keys
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`models file ${file} is not valid JSON`);
  }
  const models: unknown =
    isPlainObject(parsed) && typeof parsed.modelId === 'string' ? { [parsed.modelId]: parsed } : parsed;
  const problem = describeModelMapProblem(models);
  if (problem) throw new Error(`models file ${file}: ${problem}`);
  return models as ModelMap;
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
