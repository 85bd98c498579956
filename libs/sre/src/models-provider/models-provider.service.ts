import type { ConnectorContext } from '../core/backend';
import { SreInvalidInputError } from '../core/errors';
import { AccessCandidate, type Level } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { scopeOf } from '../security/scope';
import { READ, SecureService, WRITE } from '../security/secure-service';
import type { TeamResolver } from '../security/team-resolver';
import {
  describeModelMapProblem,
  ENTERPRISE_MODELS_SETTING,
  enterpriseModels,
  parseModelsSetting,
  USER_CUSTOM_MODELS_SETTING,
  userCustomModels,
} from './models-loader';
import type {
  ModelEntry,
  ModelInfo,
  ModelMap,
  ModelReference,
  ModelsProviderBackend,
  TeamModels,
} from './models-provider.backend';

export type {
  CredentialsMode,
  ModelEntry,
  ModelInfo,
  ModelMap,
  ModelReference,
  ModelsProviderBackend,
  TeamModels,
} from './models-provider.backend';
export { ENTERPRISE_MODELS_SETTING, USER_CUSTOM_MODELS_SETTING } from './models-loader';

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

/**
 * What ModelsProvider needs of the Account subsystem (`AccountService` fits): team resolution, and
 * a team's settings, where its custom models live. A resolver without `forTeam` gives no team
 * custom models.
 */
export interface ModelsProviderAccount extends TeamResolver {
  forTeam?(teamId: string): { getSetting(key: string): Promise<string | undefined> };
}

export interface ModelsProviderDeps {
  account: ModelsProviderAccount;
}

const GLOBAL_MODELS = 'models';
const teamModels = (team: string) => `teams/${team}/${GLOBAL_MODELS}`;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The provider-side model id of a reference: an alias resolves to its target's id. */
export function resolveModelId(models: ModelMap, model: ModelReference): string {
  if (typeof model !== 'string') return entryOf(model).modelId!;
  const entry = Object.hasOwn(models, model) ? models[model] : undefined;
  if (entry?.alias) return (Object.hasOwn(models, entry.alias) && models[entry.alias].modelId) || entry.alias;
  return entry?.modelId || model;
}

/** Resolves a reference against a model map (see `ModelsProviderRequester.getModelInfo`). */
export function resolveModelInfo(models: ModelMap, model: ModelReference, hasAPIKey = false): ModelInfo {
  const entry = typeof model === 'string' ? (Object.hasOwn(models, model) ? models[model] : undefined) : entryOf(model);
  const aliasEntry = entry?.alias && Object.hasOwn(models, entry.alias) ? models[entry.alias] : undefined;
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
 * The LLM model catalogue: what you inject. The backend supplies the global list and keeps each
 * team's additions; resolution, custom models and access live here, the same for every connector.
 * Everyone reads the global list; only a team's members read or change its additions (W10).
 */
export class ModelsProviderService extends SecureService<ModelsProviderBackend> {
  private readonly account: ModelsProviderAccount;

  constructor(backend: ModelsProviderBackend, context: ConnectorContext | undefined, deps: ModelsProviderDeps) {
    super(backend, context, deps);
    this.account = deps.account;
  }

  /** True when `candidate` holds every level in `levels` on `models` or `teams/<team>/models`. */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    return this.allows(candidate, levels, resourceId, this.aclOf(resourceId));
  }

  requester(candidate: AccessCandidate): ModelsProviderRequester {
    let team: Promise<string | undefined> | undefined;
    let models: Promise<{ all: ModelMap; custom: ModelMap }> | undefined;
    const teamOf = () => (team ??= this.teamOf(candidate));
    const load = () =>
      (models ??= (async () => {
        await this.authorize(candidate, READ, GLOBAL_MODELS, this.aclOf(GLOBAL_MODELS));
        const id = await teamOf();
        if (id === undefined) return { all: { ...(await this.readModels()) }, custom: {} };
        await this.authorize(candidate, READ, teamModels(id), this.aclOf(teamModels(id)));
        const [global, added, custom] = await Promise.all([
          this.readModels(),
          this.readTeamModels(id),
          this.loadCustomModels(id),
        ]);
        return { all: { ...global, ...added?.models, ...custom }, custom };
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
        const problem = describeModelMapProblem(added);
        if (problem) throw new SreInvalidInputError(problem, this.source());
        const id = await this.requireTeam(candidate);
        await this.authorize(candidate, WRITE, teamModels(id), this.aclOf(teamModels(id)));
        const entries = structuredClone(added);
        await this.retryOnConflict('the team models', async () => {
          const current = await this.readTeamModels(id);
          return this.call('writing team models', () =>
            this.backend.writeTeamModels(id, { ...current?.models, ...entries }, current?.version),
          );
        });
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

  agent(id: string): ModelsProviderRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  user(id: string): ModelsProviderRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): ModelsProviderRequester {
    return this.requester(AccessCandidate.team(id));
  }

  /** The global list is readable by everyone; a team's additions are owned by the team. */
  private aclOf(resourceId: string): ACL | undefined {
    if (resourceId === GLOBAL_MODELS) return new ACL().addPublicAccess('read');
    const scope = scopeOf(resourceId);
    return scope?.role === 'team' ? new ACL().addAccess('team', scope.id, 'owner') : undefined;
  }

  private async readModels(): Promise<ModelMap> {
    return this.call('reading the models', () => this.backend.readModels());
  }

  private async readTeamModels(team: string): Promise<TeamModels | undefined> {
    return this.call('reading team models', () => this.backend.readTeamModels(team));
  }

  /**
   * A team's custom models from its Account settings. A malformed setting is skipped with a warning
   * (its content is never logged) so that one bad entry does not hide the built-ins; an Account
   * failure is an error, not an empty list that would fall back to platform models and keys.
   */
  private async loadCustomModels(team: string): Promise<ModelMap> {
    const settings = this.account.forTeam?.(team);
    if (!settings) return {};
    const [enterprise, user] = await Promise.all(
      [ENTERPRISE_MODELS_SETTING, USER_CUSTOM_MODELS_SETTING].map(async (key) => {
        const parsed = parseModelsSetting(await settings.getSetting(key));
        if (parsed === undefined)
          this.logger.warn(`team setting '${key}' is not a JSON object; its models are ignored`);
        return parsed ?? {};
      }),
    );
    const defaultsOf = (foundation: string) => this.backend.customModelDefaults?.(foundation);
    return { ...enterpriseModels(enterprise, defaultsOf), ...userCustomModels(user) };
  }
}
