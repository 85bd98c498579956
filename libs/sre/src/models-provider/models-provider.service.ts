import { SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { scopeOf } from '../security/scope';
import { READ, SecureConnector, WRITE } from '../security/secure-connector';

/** How an LLM call finds its credentials (see the LLM subsystem). */
export type CredentialsMode = 'vault' | 'internal' | 'none' | 'bedrock_vault' | 'vertexai_vault';

/** One model, keyed by its entry name in a model map (the original's models.json format). */
export interface ModelEntry {
  modelId?: string;
  provider?: string;
  /** Legacy name of `provider`. */
  llm?: string;
  /** Entry name of the model this one stands for (its limits and key options apply). */
  alias?: string;
  label?: string;
  /** `text, image, audio, video, document, tools, search, reasoning, image-generation, ...` */
  features?: string[];
  tags?: string[];
  /** Context window. */
  tokens?: number;
  completionTokens?: number;
  enabled?: boolean;
  /** Limits that apply when the caller brings its own API key. */
  keyOptions?: { tokens?: number; completionTokens?: number };
  /** A mode, modes tried in order, or the credentials object itself (`{{KEY(name)}}` templates allowed). */
  credentials?: CredentialsMode | (CredentialsMode | Record<string, unknown>)[] | Record<string, unknown>;
  baseURL?: string;
  fallbackLLM?: string;
  /** Defaults for unset request parameters. */
  params?: Record<string, unknown>;
  interface?: 'chat.completions' | 'responses' | 'generateContent' | 'generateImages' | (string & {});
  supportsEditing?: boolean;
  isCustomLLM?: boolean;
  isUserCustomLLM?: boolean;
  /** Provider settings of custom models (region, project, vault key names, ...). */
  settings?: Record<string, unknown>;
  [extra: string]: unknown;
}

export type ModelMap = Record<string, ModelEntry>;

/** A model as callers name it: an entry name, or an entry carrying its `modelId`. */
export type ModelReference = string | ModelEntry;

/** A resolved entry: always has its provider-side `modelId`. */
export type ModelInfo = ModelEntry & { modelId: string };

/** The models one candidate sees and the rules that resolve a model reference against them. */
export interface ModelsProviderRequester {
  readonly candidate: AccessCandidate;
  /**
   * The global models, then the models the team added, then the team's custom models (Account
   * settings `custom-llm` and `user-custom-llm`). Read once per requester: take a new requester to
   * see later changes.
   */
  getModels(): Promise<ModelMap>;
  /** The team's custom models from its Account settings (`{}` without a team or settings). */
  getCustomModels(): Promise<ModelMap>;
  /**
   * Adds or replaces models for the candidate's team only: other teams and the global list never
   * see them (W10). Every entry needs a string `modelId`. Needs write on the team's models.
   */
  addModels(models: ModelMap): Promise<void>;
  /**
   * The entry merged over its alias' entry, with `keyOptions` limits applied only when the caller
   * has its own API key. An unknown name resolves to `{ modelId: name }`.
   */
  getModelInfo(model: ModelReference, hasAPIKey?: boolean): Promise<ModelInfo>;
  getModelId(model: ModelReference): Promise<string>;
  getProvider(model: ModelReference): Promise<string | undefined>;
  getFallbackLLM(model: ModelReference): Promise<string | undefined>;
  getBaseURL(model: ModelReference): Promise<string | undefined>;
  isUserCustomLLM(model: ModelReference): Promise<boolean>;
  isStandardLLM(model: ModelReference): Promise<boolean>;
  /** `tokens`, else 1024. */
  getMaxContextTokens(model: ModelReference, hasAPIKey?: boolean): Promise<number>;
  /** `completionTokens`, else `tokens`, else 512. */
  getMaxCompletionTokens(model: ModelReference, hasAPIKey?: boolean): Promise<number>;
  /** `maxTokens` (512 when unset) clamped to the model's completion limit. */
  adjustMaxCompletionTokens(model: ModelReference, maxTokens: number, hasAPIKey?: boolean): Promise<number>;
  /** Throws `SreInvalidInputError` when prompt + completion exceed the context window (models tagged `sdk` are exempt). */
  validateTokensLimit(request: {
    model: ModelReference;
    promptTokens: number;
    completionTokens: number;
    hasAPIKey?: boolean;
  }): Promise<void>;
}

/** Team settings (Account) holding custom models, as the original names them. */
export const ENTERPRISE_MODELS_SETTING = 'custom-llm';
export const USER_CUSTOM_MODELS_SETTING = 'user-custom-llm';

const GLOBAL_MODELS = 'models';

interface TeamSettings {
  getTeamSetting(teamId: string, key: string): Promise<string | undefined>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The provider-side model id of a reference: an alias resolves to its target's id. */
export function resolveModelId(models: ModelMap, model: ModelReference): string {
  if (typeof model !== 'string') return entryOf(model).modelId!;
  const entry = models[model];
  if (entry?.alias) return models[entry.alias]?.modelId || entry.alias;
  return entry?.modelId || model;
}

/** Resolves a reference against a model map (see `ModelsProviderRequester.getModelInfo`). */
export function resolveModelInfo(models: ModelMap, model: ModelReference, hasAPIKey = false): ModelInfo {
  const entry = typeof model === 'string' ? models[model] : entryOf(model);
  const aliasEntry = entry?.alias ? models[entry.alias] : undefined;
  const keyOptions = hasAPIKey ? { ...aliasEntry?.keyOptions, ...entry?.keyOptions } : {};
  return { ...aliasEntry, ...entry, ...keyOptions, modelId: resolveModelId(models, model) };
}

/** The completion limit of a resolved model: `completionTokens`, else `tokens`, else 512. */
export function maxCompletionTokens(info: ModelEntry): number {
  return info.completionTokens || info.tokens || 512;
}

/** `maxTokens` (512 when unset or 0) clamped to the model's completion limit when it has one. */
export function clampCompletionTokens(info: ModelEntry, maxTokens: number | undefined): number {
  const wanted = maxTokens || 512;
  return Math.min(wanted, info.completionTokens || info.tokens || wanted);
}

function entryOf(model: ModelEntry): ModelEntry {
  if (!isPlainObject(model) || typeof model.modelId !== 'string' || model.modelId === '') {
    throw new SreInvalidInputError('a model must be an entry name or an entry with a string modelId');
  }
  return model;
}

/**
 * The LLM model catalogue: the contract, the injection token, and the base class of every
 * ModelsProvider connector. Connectors supply the global list (built-ins and configured models) and
 * keep each team's additions; resolution, custom models and access live here, the same for all.
 * Everyone reads the global list; only a team's members read or change its additions (W10).
 */
export abstract class ModelsProviderService extends SecureConnector {
  // The backend. Access is checked and entries validated before these run. Returned maps may be
  // shared with the connector: the base never mutates them and hands callers copies.

  /** The global models: built-ins plus the configured ones (after the connector's merge/replace rule). */
  protected abstract readModels(): Promise<ModelMap>;
  /** The models a team added (`{}` when none). */
  protected abstract readTeamModels(team: string): Promise<ModelMap>;
  /** Adds or replaces entries in a team's additions. */
  protected abstract writeTeamModels(team: string, models: ModelMap): Promise<void>;

  /** Defaults (`tokens`, `completionTokens`, ...) for an enterprise model built on `foundationModel`. */
  protected customModelDefaults(_foundationModel: string): Partial<ModelEntry> | undefined {
    return undefined;
  }

  /** The global list is readable by everyone; a team's additions are owned by the team. */
  protected getResourceACL(resourceId: string): ACL | undefined {
    if (resourceId === GLOBAL_MODELS) return new ACL().addPublicAccess('read');
    const scope = scopeOf(resourceId);
    return scope?.role === 'team' ? new ACL().addAccess('team', scope.id, 'owner') : undefined;
  }

  requester(candidate: AccessCandidate): ModelsProviderRequester {
    let team: Promise<string | undefined> | undefined;
    let models: Promise<{ all: ModelMap; custom: ModelMap }> | undefined;
    const teamOf = () => (team ??= this.teamOf(candidate));
    const load = () =>
      (models ??= (async () => {
        await this.authorize(candidate, READ, GLOBAL_MODELS);
        const id = await teamOf();
        if (id === undefined) return { all: { ...(await this.readModels()) }, custom: {} };
        await this.authorize(candidate, READ, `teams/${id}/${GLOBAL_MODELS}`);
        const [global, added, custom] = await Promise.all([
          this.readModels(),
          this.readTeamModels(id),
          this.loadCustomModels(id),
        ]);
        return { all: { ...global, ...added, ...custom }, custom };
      })());
    // a failed load is not kept: the next call tries again
    const loaded = async () => {
      try {
        return await load();
      } catch (error) {
        models = undefined;
        throw error;
      }
    };
    const info = async (model: ModelReference, hasAPIKey = false) => {
      if (typeof model !== 'string') return resolveModelInfo({}, model, hasAPIKey);
      if (model === '') throw new SreInvalidInputError('a model name must be non-empty', this.source());
      return resolveModelInfo((await loaded()).all, model, hasAPIKey);
    };
    return {
      candidate,
      getModels: async () => structuredClone((await loaded()).all),
      getCustomModels: async () => structuredClone((await loaded()).custom),
      addModels: async (added) => {
        const entries = this.checkModels(added);
        const id = await teamOf();
        if (id === undefined) throw this.denied();
        await this.authorize(candidate, WRITE, `teams/${id}/${GLOBAL_MODELS}`);
        await this.writeTeamModels(id, structuredClone(entries));
        models = undefined;
      },
      getModelInfo: (model, hasAPIKey) => info(model, hasAPIKey),
      getModelId: async (model) => (await info(model)).modelId,
      getProvider: async (model) => {
        const found = await info(model);
        return found.provider ?? found.llm;
      },
      getFallbackLLM: async (model) => (await info(model)).fallbackLLM,
      getBaseURL: async (model) => (await info(model)).baseURL,
      isUserCustomLLM: async (model) => (await info(model)).isUserCustomLLM === true,
      isStandardLLM: async (model) => !(await info(model)).isCustomLLM,
      getMaxContextTokens: async (model, hasAPIKey) => (await info(model, hasAPIKey)).tokens || 1024,
      getMaxCompletionTokens: async (model, hasAPIKey) => maxCompletionTokens(await info(model, hasAPIKey)),
      adjustMaxCompletionTokens: async (model, maxTokens, hasAPIKey) =>
        clampCompletionTokens(await info(model, hasAPIKey), maxTokens),
      validateTokensLimit: async ({ model, promptTokens, completionTokens, hasAPIKey = false }) => {
        const found = await info(model, hasAPIKey);
        if (found.tags?.includes('sdk') || !found.tokens) return;
        const total = promptTokens + completionTokens;
        if (total <= found.tokens) return;
        throw new SreInvalidInputError(
          hasAPIKey
            ? `This model's maximum context length is ${found.tokens} tokens, but about ${total} were requested (${promptTokens} in the prompt, ${completionTokens} for the output). Shorten the prompt or lower the maximum output tokens.`
            : `Input exceeds the max tokens limit of ${found.tokens}. Add your own API key to unlock the full length.`,
          this.source(),
        );
      },
    };
  }

  /**
   * A team's custom models from its Account settings. A malformed setting is skipped with a warning
   * (its content is never logged) so that one bad entry does not hide the built-ins.
   */
  protected async loadCustomModels(team: string): Promise<ModelMap> {
    const account = this.context.deps.account as TeamSettings | undefined;
    if (typeof account?.getTeamSetting !== 'function') return {};
    const [enterprise, user] = await Promise.all([
      this.readSetting(account, team, ENTERPRISE_MODELS_SETTING),
      this.readSetting(account, team, USER_CUSTOM_MODELS_SETTING),
    ]);
    const models: ModelMap = {};
    for (const [id, entry] of Object.entries(enterprise)) {
      if (!isPlainObject(entry) || typeof entry.name !== 'string' || !isPlainObject(entry.settings)) continue;
      const settings = entry.settings;
      const foundation = typeof settings.foundationModel === 'string' ? settings.foundationModel : undefined;
      const custom =
        typeof settings.customModel === 'string' && settings.customModel ? settings.customModel : foundation;
      if (!custom) continue;
      const defaults = (foundation && this.customModelDefaults(foundation)) || {};
      const provider = typeof entry.provider === 'string' ? entry.provider : undefined;
      models[entry.name] = {
        ...defaults,
        id,
        name: entry.name,
        label: entry.name,
        modelId: custom,
        alias: foundation,
        provider,
        llm: provider,
        features: Array.isArray(entry.features)
          ? entry.features.map((f) => (f === 'text-completion' ? 'text' : f === 'tool-use' ? 'tools' : String(f)))
          : [],
        tags: ['Enterprise', ...(Array.isArray(entry.tags) ? entry.tags.map(String) : [])],
        tokens: defaults.tokens ?? 100_000,
        completionTokens: defaults.completionTokens ?? 4096,
        enabled: true,
        isCustomLLM: true,
        settings,
        credentials: provider === 'Bedrock' ? 'bedrock_vault' : provider === 'VertexAI' ? 'vertexai_vault' : 'internal',
      };
    }
    for (const [id, entry] of Object.entries(user)) {
      if (!isPlainObject(entry) || typeof entry.name !== 'string') continue;
      models[entry.name] = {
        id,
        name: entry.name,
        label: entry.name,
        modelId: typeof entry.modelId === 'string' ? entry.modelId : entry.name,
        provider: typeof entry.provider === 'string' ? entry.provider : undefined,
        features: Array.isArray(entry.features) ? entry.features.map(String) : [],
        tags: ['Custom', ...(Array.isArray(entry.tags) ? entry.tags.map(String) : [])],
        tokens: typeof entry.contextWindow === 'number' ? entry.contextWindow : 8192,
        completionTokens: typeof entry.maxOutputTokens === 'number' ? entry.maxOutputTokens : 8192,
        enabled: true,
        baseURL: typeof entry.baseURL === 'string' ? entry.baseURL : undefined,
        fallbackLLM: typeof entry.fallbackLLM === 'string' ? entry.fallbackLLM : undefined,
        isUserCustomLLM: true,
        credentials: (entry.credentials as ModelEntry['credentials']) ?? ['vault', 'internal'],
      };
    }
    return models;
  }

  private async readSetting(account: TeamSettings, team: string, key: string): Promise<Record<string, unknown>> {
    const text = await account.getTeamSetting(team, key);
    if (!text) return {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // reported below without the content, which may hold credentials
    }
    this.logger.warn(`team setting '${key}' is not a JSON object; its models are ignored`);
    return {};
  }

  private checkModels(models: ModelMap): ModelMap {
    if (!isPlainObject(models))
      throw new SreInvalidInputError('models must be an object of entries by name', this.source());
    const bad = Object.entries(models)
      .filter(
        ([name, entry]) =>
          !name ||
          !isPlainObject(entry) ||
          typeof entry.modelId !== 'string' ||
          !entry.modelId ||
          (entry.provider !== undefined && typeof entry.provider !== 'string'),
      )
      .map(([name]) => `'${name}'`);
    if (bad.length)
      throw new SreInvalidInputError(
        `invalid model entries (need a string modelId, provider a string): ${bad.join(', ')}`,
        this.source(),
      );
    return models;
  }
}
