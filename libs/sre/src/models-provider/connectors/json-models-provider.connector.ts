import type { Logger } from '@nestjs/common';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { createConnectorContext, type ConnectorContext, type Version } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { DebouncedWatch } from '../../core/fs/debounced-watch';
import type { ModelEntry, ModelMap, ModelsProviderBackend, TeamModels } from '../models-provider.backend';
import {
  listModelFiles,
  loadModelFiles,
  modelsSettingProblem,
  resolveModelsSource,
  type ModelsSource,
} from './models-source';

export { MODELS_DIR_NAME, readModelsFile } from './models-source';

export const JSON_MODELS_PROVIDER_MODES = ['merge', 'replace'] as const;
export type JSONModelsProviderMode = (typeof JSON_MODELS_PROVIDER_MODES)[number];

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
  private source?: ModelsSource;
  private models?: ModelMap;
  /** The last good entries of each file, by absolute path (files of a folder, or the one file). */
  private fileModels = new Map<string, ModelMap>();
  private readonly teams = new Map<string, { models: ModelMap; version: number }>();
  private writes = 0;
  private connecting?: Promise<void>;
  private queue: Promise<void> = Promise.resolve();
  private readonly watcher: DebouncedWatch;
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
    const debounceMs = settings.debounceMs ?? 500;
    // one reload after `debounceMs` of quiet, and at least every 5 × `debounceMs` while changes go on
    this.watcher = new DebouncedWatch(() => this.reload(), {
      logger: this.logger,
      debounceMs,
      maxDelayMs: 5 * debounceMs,
      what: 'the models',
    });
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
    await this.watcher.close();
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
    this.source = resolveModelsSource(this.settings.models, this.context.dataDir);
    await this.load(true);
    if (this.source?.kind === 'dir' && this.settings.watch !== false)
      this.watcher.watch(this.source.dir, { recursive: true });
  }

  /** Rebuilds `models` from the source; `strict` (at connect) fails on the first bad file instead of warning. */
  private async load(strict: boolean): Promise<void> {
    if (!strict && this.closed) return;
    const source = this.source;
    let configured: ModelMap = {};
    if (source?.kind === 'object') configured = source.models;
    else if (source?.kind === 'file') configured = await this.loadFiles([source.file], strict);
    else if (source?.kind === 'dir')
      configured = await this.loadFiles(await listModelFiles(source.dir, strict, this.logger), strict);
    this.models =
      source && this.mode === 'replace' ? configured : { ...structuredClone(BUILTIN_MODELS), ...configured };
    if (!strict) for (const wake of this.waiters.splice(0)) wake();
  }

  /** The entries of `files`, in order; a bad file keeps its last good entries unless `strict`. */
  private async loadFiles(files: string[], strict: boolean): Promise<ModelMap> {
    const { models, byFile } = await loadModelFiles(files, strict, this.fileModels, this.logger);
    this.fileModels = byFile;
    return models;
  }

  private invalid(why: string): SreInvalidInputError {
    return new SreInvalidInputError(why, { subsystem: this.context.subsystem, connector: this.context.connector });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
