import * as fs from 'node:fs';
import * as path from 'node:path';
import { SreConfigError } from './core/errors';
import type { ConnectorClass } from './core/registry';
import type { SubsystemName } from './core/subsystems';

/** One connector entry in the seed's format. */
export interface SreEntry {
  /** Registered connector name (`'LocalStorage'`) or your own connector class. */
  Connector: string | ConnectorClass<any>;
  Settings?: Record<string, any>;
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

/** The seed's configuration object: `{ Storage: { Connector: 'LocalStorage', Settings: {...} }, ... }`. */
export type SreConfig = { [K in SubsystemName]?: SreEntry | SreEntry[] };

/**
 * The seed's default connectors, used for every subsystem the configuration leaves out. LLM and
 * Code have none: the original auto-registers every LLM provider and defaults Code to an
 * unregistered placeholder that silently did nothing (W01).
 */
export const SRE_DEFAULTS: Readonly<Partial<Record<SubsystemName, Readonly<SreEntry>>>> = Object.freeze({
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

/**
 * Replaces `${NAME}` (or `${NAME:-fallback}`) in every string of a config with the environment
 * variable, so that no secret has to sit in a config file. A missing variable without fallback is
 * reported by path and name, never by value.
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
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, problems, `${at}[${i}]`)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, `${at}.${key}`)]),
    ) as T;
  }
  return value;
}

/**
 * Loads a seed-format configuration: from the JSON file named by `SRE_CONFIG` (or `file`), else
 * from the JSON text in `SRE_CONFIG_JSON`, else `{}` (all defaults). `${VAR}` references are filled
 * from the environment. Throws one error listing every problem.
 */
export function loadSreConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): SreConfig {
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
  const config = interpolateEnv(parsed as SreConfig, env, problems, 'config');
  if (problems.length) throw new SreConfigError(problems.map((problem) => `${origin}: ${problem}`));
  return config;
}
