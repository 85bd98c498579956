import type { MaybePromise, SreBackend, Version } from '../core/backend';

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

/** The models one team added, with the version they were read at (handed back on the next write). */
export interface TeamModels {
  models: ModelMap;
  version: Version;
}

/**
 * What a ModelsProvider connector implements: the global list (built-ins and configured models) and
 * each team's additions, as plain data. The service validates team ids and entries, decides who may
 * read or add, merges additions with a conditional write, resolves references and reads custom
 * models from Account; a backend decides none of it. Maps a backend returns may be shared with it:
 * the service never mutates them and hands callers copies.
 */
export interface ModelsProviderBackend extends SreBackend {
  /** The global models: built-ins plus the configured ones (after the connector's merge/replace rule). */
  readModels(): MaybePromise<ModelMap>;
  /** The models a team added and their version; `undefined` when it added none. */
  readTeamModels(teamId: string): MaybePromise<TeamModels | undefined>;
  /**
   * Replaces a team's additions with `models` iff they are still at `ifVersion` (`undefined`: iff
   * the team has none). `false` when they changed in between: nothing is written.
   */
  writeTeamModels(teamId: string, models: ModelMap, ifVersion: Version | undefined): MaybePromise<boolean>;
  /** Defaults (`tokens`, `completionTokens`, ...) for an enterprise model built on `foundationModel`. */
  customModelDefaults?(foundationModel: string): Partial<ModelEntry> | undefined;
}

/** Every required operation of `ModelsProviderBackend` (a custom connector lacking one is refused at boot). */
export const MODELS_PROVIDER_OPERATIONS = ['readModels', 'readTeamModels', 'writeTeamModels'] as const;
