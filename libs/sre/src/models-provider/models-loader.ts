import type { ModelEntry, ModelMap } from './models-provider.backend';

/** Team settings (Account) holding custom models, as the original names them. */
export const ENTERPRISE_MODELS_SETTING = 'custom-llm';
export const USER_CUSTOM_MODELS_SETTING = 'user-custom-llm';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Names of the entries of `models` that cannot be models: an empty name, an entry that is not an
 * object, without a non-empty string `modelId`, or with a `provider` that is not a string (W41).
 */
export function invalidModelEntries(models: ModelMap): string[] {
  return Object.entries(models)
    .filter(
      ([name, entry]) =>
        !name ||
        !isPlainObject(entry) ||
        typeof entry.modelId !== 'string' ||
        !entry.modelId ||
        (entry.provider !== undefined && typeof entry.provider !== 'string'),
    )
    .map(([name]) => name);
}

/**
 * The problem of a model map, or `undefined` when every entry is valid. Names the bad entries,
 * never their content (an entry's credentials may hold keys).
 */
export function describeModelMapProblem(models: unknown): string | undefined {
  if (!isPlainObject(models)) return 'models must be an object of entries by name';
  const bad = invalidModelEntries(models as ModelMap);
  if (bad.length === 0) return undefined;
  return `invalid model entries (need a string modelId, provider a string): ${bad.map((name) => `'${name}'`).join(', ')}`;
}

/**
 * A custom-models setting as JSON: `{}` when unset or empty, `undefined` when it is not a JSON object
 * (the caller warns without showing the text, which may hold credentials).
 */
export function parseModelsSetting(setting: string | undefined): Record<string, unknown> | undefined {
  if (!setting) return {};
  try {
    const parsed: unknown = JSON.parse(setting);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

// the platform's feature names for enterprise models, as the LLM subsystem spells them
// (maps: a plain object would answer 'constructor' or 'toString' from its prototype)
const ENTERPRISE_FEATURES: ReadonlyMap<string, string> = new Map([
  ['text-completion', 'text'],
  ['tool-use', 'tools'],
]);
const ENTERPRISE_CREDENTIALS: ReadonlyMap<string, ModelEntry['credentials']> = new Map([
  ['Bedrock', 'bedrock_vault'],
  ['VertexAI', 'vertexai_vault'],
]);

/**
 * Enterprise models (setting `custom-llm`: `{ <id>: { name, provider, features, tags, settings:
 * { foundationModel, customModel } } }`) as model entries by name. An entry without a name, settings
 * or a model is skipped. `defaultsOf` gives the limits of the foundation model, when known.
 */
export function enterpriseModels(
  raw: Record<string, unknown>,
  defaultsOf: (foundationModel: string) => Partial<ModelEntry> | undefined = () => undefined,
): ModelMap {
  const models: ModelMap = {};
  for (const [id, entry] of Object.entries(raw)) {
    if (!isPlainObject(entry) || typeof entry.name !== 'string' || !isPlainObject(entry.settings)) continue;
    const settings = entry.settings;
    const foundation = text(settings.foundationModel);
    const custom = text(settings.customModel) || foundation;
    if (!custom) continue;
    const defaults = (foundation && defaultsOf(foundation)) || {};
    const provider = text(entry.provider);
    models[entry.name] = {
      ...defaults,
      id,
      name: entry.name,
      label: entry.name,
      modelId: custom,
      alias: foundation,
      provider,
      llm: provider,
      features: strings(entry.features).map((feature) => ENTERPRISE_FEATURES.get(feature) ?? feature),
      tags: ['Enterprise', ...strings(entry.tags)],
      tokens: defaults.tokens ?? 100_000,
      completionTokens: defaults.completionTokens ?? 4096,
      enabled: true,
      isCustomLLM: true,
      settings,
      credentials: (provider && ENTERPRISE_CREDENTIALS.get(provider)) || 'internal',
    };
  }
  return models;
}

/**
 * Models a team's users added (setting `user-custom-llm`: `{ <id>: { name, modelId, provider,
 * baseURL, contextWindow, maxOutputTokens, credentials, ... } }`) as model entries by name.
 */
export function userCustomModels(raw: Record<string, unknown>): ModelMap {
  const models: ModelMap = {};
  for (const [id, entry] of Object.entries(raw)) {
    if (!isPlainObject(entry) || typeof entry.name !== 'string') continue;
    models[entry.name] = {
      id,
      name: entry.name,
      label: entry.name,
      modelId: text(entry.modelId) ?? entry.name,
      provider: text(entry.provider),
      features: strings(entry.features),
      tags: ['Custom', ...strings(entry.tags)],
      tokens: typeof entry.contextWindow === 'number' ? entry.contextWindow : 8192,
      completionTokens: typeof entry.maxOutputTokens === 'number' ? entry.maxOutputTokens : 8192,
      enabled: true,
      baseURL: text(entry.baseURL),
      fallbackLLM: text(entry.fallbackLLM),
      isUserCustomLLM: true,
      credentials: (entry.credentials as ModelEntry['credentials']) ?? ['vault', 'internal'],
    };
  }
  return models;
}
