import type { InjectionToken } from '@nestjs/common';
import type { ConnectorContext, MaybePromise, SreBackend } from './backend';

/** A connector class: built with its validated settings and the context the module gives it. */
export interface BackendClass<B = SreBackend, S = any> {
  new (settings: S, context: ConnectorContext<any>): B;
  /** Registry name; custom connectors default to the class name. */
  readonly connectorName?: string;
  /** class-validator class describing the settings; absent means "takes no settings". */
  readonly settingsClass?: new () => object;
}

/**
 * A connector built through Nest DI: `useFactory` receives the `inject`ed providers, then the
 * `ConnectorContext`, and returns the backend (e.g. over a client your app already provides).
 */
export interface BackendFactory<B = SreBackend> {
  useFactory: (...args: any[]) => MaybePromise<B>;
  inject?: InjectionToken[];
  /** Shown in logs, errors and health checks (default: `factory`). */
  connectorName?: string;
}

/**
 * Something a connector or a service needs from the application: another subsystem's service, a
 * shared connection, a config object. `token(instance)` names the provider (instance `default`
 * unless the module's `uses` picks another one); `what` and `hint` make the boot error a sentence.
 */
export interface Dependency<T = unknown> {
  readonly what: string;
  readonly hint: string;
  readonly token: (instance?: string) => InjectionToken;
  readonly optional?: boolean;
  /** Type carrier only; never set. */
  readonly type?: T;
}

/** An npm package a connector loads: missing, the boot says what to install. */
export interface SdkRequirement {
  readonly package: string;
  readonly range: string;
}

export interface ConnectorEntry<B = SreBackend, S = any> {
  /** Returns the connector class; runs on first use, so its module (and SDK) loads only when configured. */
  readonly load?: () => BackendClass<B>;
  /** Packages the connector's module requires; checked before `load`. */
  readonly sdk?: readonly SdkRequirement[];
  /** Providers the connector needs, handed to it as `context.deps`. */
  readonly uses?: Readonly<Record<string, Dependency>>;
  /** Type carrier of the settings (never set): what `SreConfig` and `forRoot` type-check against. */
  readonly settingsType?: S;
}

/**
 * A registry entry that loads its connector lazily: `connector<LocalStorageSettings>(() =>
 * require('./connectors/local-storage.connector').LocalStorageConnector)`. `S` types its settings.
 */
export function connector<S extends object = Record<string, never>>(
  load: () => BackendClass<any>,
  more: Omit<ConnectorEntry, 'load' | 'settingsType'> = {},
): ConnectorEntry<any, S> {
  return { ...more, load };
}

/** A seed connector that a later version brings; `sdk` is what it will need. */
export function planned(
  more: Omit<ConnectorEntry, 'load' | 'settingsType'> = {},
): ConnectorEntry<any, PlannedSettingsOf> {
  return { ...more };
}

/** Settings of a planned connector: any object (it is refused at boot with a sentence). */
export type PlannedSettingsOf = Record<string, unknown>;

export type ConnectorLookup<B> = { cls: BackendClass<B>; entry: ConnectorEntry<B> } | { problem: string };

function isInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The connectors of one subsystem, by name. An entry without `load` is planned: it belongs to the
 * seed but arrives in a later version, and asking for it says so instead of calling it unknown.
 * Entries load their module on first use; a connector whose SDK is not installed fails with the
 * `npm i` command that fixes it.
 */
export class ConnectorRegistry<B = SreBackend> {
  private readonly entries = new Map<string, ConnectorEntry<B>>();
  private readonly loaded = new Map<string, BackendClass<B>>();

  constructor(readonly subsystem: string) {}

  /** Adds a connector: a class, or an entry that loads it lazily. */
  register(name: string, connector: BackendClass<B> | ConnectorEntry<B>): this {
    const existing = this.entries.get(name);
    if (existing?.load) {
      // the same connector again changes nothing (its entry keeps its `sdk` and `uses`); another one is refused
      if (existing === connector || this.loaded.get(name) === connector) return this;
      throw new Error(`${this.subsystem}: a connector named '${name}' is already registered`);
    }
    this.entries.set(name, typeof connector === 'function' ? { load: () => connector } : connector);
    this.loaded.delete(name);
    if (typeof connector === 'function') this.loaded.set(name, connector);
    return this;
  }

  /** Declares seed connectors that a later version brings. */
  plan(...names: string[]): this {
    for (const name of names) if (!this.entries.has(name)) this.entries.set(name, {});
    return this;
  }

  has(name: string): boolean {
    return this.entries.get(name)?.load !== undefined;
  }

  isPlanned(name: string): boolean {
    const entry = this.entries.get(name);
    return entry !== undefined && entry.load === undefined;
  }

  /** Names of the connectors that can be used (planned ones excluded). */
  names(): string[] {
    return [...this.entries].filter(([, entry]) => entry.load).map(([name]) => name);
  }

  /** Every dependency any connector of this subsystem may declare, by key. */
  dependencies(): Map<string, Dependency> {
    const all = new Map<string, Dependency>();
    for (const entry of this.entries.values())
      for (const [key, dep] of Object.entries(entry.uses ?? {})) all.set(key, dep);
    return all;
  }

  entry(name: string): ConnectorEntry<B> | undefined {
    return this.entries.get(name);
  }

  /** The class of a registered name (loaded on first use), or `undefined`. */
  get(name: string): BackendClass<B> | undefined {
    const found = this.lookup(name);
    return 'cls' in found ? found.cls : undefined;
  }

  /**
   * The class of a registered name (loading it on first use), or the sentence explaining why not.
   * `hideName`: the name came from the environment, so an unknown one is not repeated.
   */
  lookup(name: string, options: { hideName?: boolean } = {}): ConnectorLookup<B> {
    const entry = this.entries.get(name);
    if (!entry?.load) return { problem: this.describeMissing(name, options) };
    const cached = this.loaded.get(name);
    if (cached) return { cls: cached, entry };
    const missing = (entry.sdk ?? []).filter((sdk) => !isInstalled(sdk.package));
    if (missing.length) return { problem: installHint(missing) };
    let cls: BackendClass<B>;
    try {
      cls = entry.load();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException)?.code;
      if (code === 'MODULE_NOT_FOUND' && entry.sdk?.length) return { problem: installHint(entry.sdk) };
      // reported with every other problem of the configuration rather than thrown alone
      return { problem: `connector '${name}' failed to load: ${(error as Error)?.message ?? String(error)}` };
    }
    this.loaded.set(name, cls);
    return { cls, entry };
  }

  /**
   * The sentence for a name that is not registered. An unknown name is repeated only when it looks
   * like a connector name and does not come from the environment (`hideName`): what was given may
   * be a secret pasted in the wrong place, or a `${VAR}` holding one.
   */
  describeMissing(name: string, options: { hideName?: boolean } = {}): string {
    const available = this.names().join(', ') || 'none yet';
    // a planned name is one of the library's own: repeating it discloses nothing
    if (this.isPlanned(name))
      return `connector '${name}' is not available in this version of nestjs-sre (available: ${available})`;
    if (options.hideName)
      return `unknown connector (the name comes from an environment variable and is not repeated; valid connectors: ${available})`;
    if (!isConnectorName(name))
      return `unknown connector (the name given is not a connector name and is not repeated; valid connectors: ${available})`;
    return `unknown connector '${name}' (valid connectors: ${available})`;
  }
}

const CONNECTOR_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Whether a string has the shape of a connector name (what error messages may repeat). */
export function isConnectorName(name: unknown): name is string {
  return typeof name === 'string' && CONNECTOR_NAME.test(name);
}

function installHint(sdks: readonly SdkRequirement[]): string {
  const list = sdks.map((sdk) => `${sdk.package}@${sdk.range}`).join(' ');
  return `install ${sdks.map((sdk) => sdk.package).join(' and ')} (npm i ${list}) to use this connector`;
}
