import * as fs from 'node:fs';
import * as path from 'node:path';
import { SreConfigError } from './core/errors';
import type { SettingsInput } from './core/options';
import type { BackendClass, BackendFactory } from './core/registry';
import type { SubsystemModuleClass } from './core/subsystem';
import type { SubsystemName } from './core/subsystems';
import type { ACCOUNT } from './account/account.module';
import type { AGENT_DATA } from './agent-data/agent-data.module';
import type { CACHE } from './cache/cache.module';
import type { CODE } from './code/code.module';
import type { COMPONENT } from './component/component.module';
import type { LLM } from './llm/llm.module';
import type { LOG } from './log/log.module';
import type { MANAGED_VAULT } from './managed-vault/managed-vault.module';
import type { MODELS_PROVIDER } from './models-provider/models-provider.module';
import type { NKV } from './nkv/nkv.module';
import type { ROUTER } from './router/router.module';
import type { STORAGE } from './storage/storage.module';
import type { VAULT } from './vault/vault.module';
import type { VECTORDB } from './vectordb/vectordb.module';

/** What every seed entry may carry besides its connector and settings. */
export interface SreEntryCommon {
  /** Instance name; inject it with `@InjectStorage('<Id>')`. */
  Id?: string;
  /** In a list, the entry bound to the service class (else the first one). */
  Default?: boolean;
  /** Connect on first use instead of at boot. */
  LazyConnect?: boolean;
  /** Retries of the initial connect (default 3). */
  ConnectRetries?: number;
  /** First pause between connect attempts in milliseconds (default 200, doubling, capped at 3 s). */
  ConnectRetryDelayMs?: number;
}

/**
 * One entry of one subsystem in the seed's format, typed by that subsystem's connectors: a
 * registered name with that connector's settings, or your own class or DI factory.
 */
export type SreEntryFor<B, M> = (
  | { [K in keyof M & string]: { Connector: K; Settings?: SettingsInput<M[K]> } }[keyof M & string]
  | { Connector: BackendClass<B>; Settings?: object }
  | { Connector: BackendFactory<B>; Settings?: undefined }
) &
  SreEntryCommon;

/** Any subsystem's entry, untyped (what `resolveSreConfig` reads at run time). */
export interface SreEntry extends SreEntryCommon {
  /** Registered connector name (`'LocalStorage'`), your own connector class, or `{ useFactory }`. */
  Connector: string | BackendClass<any> | BackendFactory<any>;
  Settings?: Record<string, any>;
}

type EntryOf<T> = T extends { Module: SubsystemModuleClass<infer B, infer M, any> } ? SreEntryFor<B, M> : never;
type OneOrMany<T> = T | T[];

/**
 * The seed's configuration object: `{ Storage: { Connector: 'LocalStorage', Settings: {...} }, ... }`.
 * Each subsystem's entry is checked against its connectors: a misspelt connector, setting or type
 * is a compile error (and still a boot error for configs read from JSON).
 */
export interface SreConfig {
  Vault?: OneOrMany<EntryOf<typeof VAULT>>;
  Account?: OneOrMany<EntryOf<typeof ACCOUNT>>;
  Cache?: OneOrMany<EntryOf<typeof CACHE>>;
  Storage?: OneOrMany<EntryOf<typeof STORAGE>>;
  Code?: OneOrMany<EntryOf<typeof CODE>>;
  NKV?: OneOrMany<EntryOf<typeof NKV>>;
  VectorDB?: OneOrMany<EntryOf<typeof VECTORDB>>;
  LLM?: OneOrMany<EntryOf<typeof LLM>>;
  ModelsProvider?: OneOrMany<EntryOf<typeof MODELS_PROVIDER>>;
  AgentData?: OneOrMany<EntryOf<typeof AGENT_DATA>>;
  Component?: OneOrMany<EntryOf<typeof COMPONENT>>;
  ManagedVault?: OneOrMany<EntryOf<typeof MANAGED_VAULT>>;
  Log?: OneOrMany<EntryOf<typeof LOG>>;
  Router?: OneOrMany<EntryOf<typeof ROUTER>>;
}

/** A config whose shape is only known at run time (JSON files, environment): checked at boot. */
export type SreLooseConfig = { [K in SubsystemName]?: SreEntry | SreEntry[] };

/**
 * The seed's default connectors, used for every subsystem the configuration leaves out. LLM and
 * Code have none: the original auto-registers every LLM provider and defaults Code to an
 * unregistered placeholder that silently did nothing (W01).
 */
export const SRE_DEFAULTS: Readonly<Partial<Record<SubsystemName, Readonly<SreEntry & { Connector: string }>>>> =
  Object.freeze({
    Vault: Object.freeze({ Connector: 'JSONFileVault' }),
    Account: Object.freeze({ Connector: 'DummyAccount' }),
    Cache: Object.freeze({ Connector: 'RAM' }),
    Storage: Object.freeze({ Connector: 'LocalStorage' }),
    NKV: Object.freeze({ Connector: 'LocalStorage' }),
    VectorDB: Object.freeze({ Connector: 'RAMVec' }),
    ModelsProvider: Object.freeze({ Connector: 'JSONModelsProvider' }),
    AgentData: Object.freeze({ Connector: 'NullAgentData' }),
    Component: Object.freeze({ Connector: 'LocalComponent' }),
    ManagedVault: Object.freeze({ Connector: 'NullManagedVault' }),
    Log: Object.freeze({ Connector: 'ConsoleLog' }),
    Router: Object.freeze({ Connector: 'NullRouter' }),
  });

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The keys of each object (or array) `interpolateEnv` built whose string held a `${VAR}` reference. */
const FROM_ENVIRONMENT = new WeakMap<object, Set<string>>();

/**
 * Whether `holder[key]` was filled from the environment by `interpolateEnv` (or `loadSreConfig`):
 * such a value may be a secret, so messages never repeat it.
 */
export function isFromEnvironment(holder: unknown, key: string | number): boolean {
  return typeof holder === 'object' && holder !== null && FROM_ENVIRONMENT.get(holder)?.has(String(key)) === true;
}

function markFromEnvironment<T extends object>(built: T, source: Record<string, unknown> | unknown[]): T {
  const keys = Object.keys(source).filter((key) => {
    const item = (source as Record<string, unknown>)[key];
    return typeof item === 'string' && new RegExp(ENV_REFERENCE.source).test(item);
  });
  if (keys.length) FROM_ENVIRONMENT.set(built, new Set(keys));
  return built;
}

/**
 * Replaces `${NAME}` (or `${NAME:-fallback}`) in every string of a config with the environment
 * variable, so that no secret has to sit in a config file. A missing variable without fallback is
 * reported by path and name, never by value; `isFromEnvironment(object, key)` tells which strings
 * of the result were filled in, so that messages do not repeat them.
 */
export function interpolateEnv<T>(
  value: T,
  env: NodeJS.ProcessEnv = process.env,
  problems: string[] = [],
  at = 'config',
): T {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (match, name: string, fallback: string | undefined) => {
      const found = env[name];
      // like the shell's `${VAR:-x}`: the fallback also replaces a variable that is set but empty
      if (fallback !== undefined) return found ? found : fallback;
      if (found !== undefined) return found;
      problems.push(`${at}: environment variable ${name} is not set`);
      return match;
    }) as T;
  }
  if (Array.isArray(value))
    return markFromEnvironment(
      value.map((item, i) => interpolateEnv(item, env, problems, `${at}[${i}]`)),
      value,
    ) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return markFromEnvironment(
      Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, `${at}.${key}`)]),
      ),
      value as Record<string, unknown>,
    ) as T;
  }
  return value;
}

/**
 * Loads a seed-format configuration: from the JSON file named by `SRE_CONFIG` (or `file`), else
 * from the JSON text in `SRE_CONFIG_JSON`, else `{}` (all defaults). `${VAR}` references are filled
 * from the environment. Throws one error listing every problem.
 */
export function loadSreConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): SreLooseConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.SRE_CONFIG;
  let text: string | undefined;
  let origin = 'SRE_CONFIG_JSON';
  if (file) {
    origin = path.resolve(file);
    try {
      text = fs.readFileSync(origin, 'utf8');
    } catch (error) {
      throw new SreConfigError([
        `SRE_CONFIG: cannot read ${origin} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      ]);
    }
  } else if (env.SRE_CONFIG_JSON) {
    text = env.SRE_CONFIG_JSON;
  }
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // V8 quotes the surrounding text in its message, which may hold a secret: report the position only
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new SreConfigError([`${origin}: not valid JSON${position ? ` (error at character ${position})` : ''}`]);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new SreConfigError([`${origin}: must be a JSON object`]);
  const problems: string[] = [];
  const config = interpolateEnv(parsed as SreLooseConfig, env, problems, 'config');
  if (problems.length) throw new SreConfigError(problems.map((problem) => `${origin}: ${problem}`));
  return config;
}
