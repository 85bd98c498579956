import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { SreBackend } from './backend';
import type { BackendClass, BackendFactory } from './registry';

/**
 * The settings of a connector that a later version brings: accepted by the types (so the seed's
 * production configuration compiles today) and refused at boot with a sentence.
 */
export type { PlannedSettingsOf as PlannedSettings } from './registry';
import type { PlannedSettingsOf as PlannedSettings } from './registry';

/** What a user writes for a connector's settings: every field optional (the class fills defaults). */
export type SettingsInput<S> = { [K in keyof S]?: S[K] };

/** Options every connector takes, whatever its kind. */
export interface CommonConnectorOptions {
  /** Connect on first use instead of at boot. */
  lazyConnect?: boolean;
  /** Retries of the initial connect (exponential backoff from 200 ms, capped at 3 s); default 3. */
  connectRetries?: number;
  /** First pause between connect attempts in milliseconds (doubles each time, capped at 3 s); default 200. */
  connectRetryDelayMs?: number;
  /** Root folder for connectors that keep files (default: `SRE_DATA_DIR`, else `./.sre`). */
  dataDir?: string;
}

/** A registered connector by name, with that connector's settings type. */
export type NamedConnectorOptions<M> = {
  [K in keyof M & string]: { connector: K; settings?: SettingsInput<M[K]> };
}[keyof M & string];

/** Your own connector: a class implementing the subsystem's backend, or a DI factory building one. */
export type CustomConnectorOptions<B> =
  { connector: BackendClass<B>; settings?: object } | { connector: BackendFactory<B>; settings?: undefined };

/**
 * What selects and configures one connector instance (the part a factory may compute). `M` maps
 * each registered connector name to its settings class, so that a wrong name, a wrong setting or a
 * wrong type is a compile error.
 */
export type ConnectorOptions<B = SreBackend, M = Record<string, PlannedSettings>> = (
  NamedConnectorOptions<M> | CustomConnectorOptions<B>
) &
  CommonConnectorOptions;

/** Static options: fixed when the module is declared (they decide tokens), never computed by a factory. */
export interface SubsystemModuleStaticOptions<U extends string = string> {
  /** Named instance: injected with `@InjectX(name)` / `getXToken(name)` instead of the service class. */
  name?: string;
  isGlobal?: boolean;
  /** More names bound to this same instance. */
  aliases?: string[];
  /** The instance of each subsystem this one uses (default: each one's default instance). */
  uses?: Partial<Record<U, string>>;
}

export type SubsystemModuleOptions<
  B = SreBackend,
  M = Record<string, PlannedSettings>,
  U extends string = string,
> = ConnectorOptions<B, M> & SubsystemModuleStaticOptions<U>;

export interface ConnectorOptionsFactory<B = SreBackend, M = Record<string, PlannedSettings>> {
  createConnectorOptions(): ConnectorOptions<B, M> | Promise<ConnectorOptions<B, M>>;
}

export interface SubsystemModuleAsyncOptions<
  B = SreBackend,
  M = Record<string, PlannedSettings>,
  U extends string = string,
>
  extends SubsystemModuleStaticOptions<U>, Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory?: (...args: any[]) => ConnectorOptions<B, M> | Promise<ConnectorOptions<B, M>>;
  useClass?: Type<ConnectorOptionsFactory<B, M>>;
  useExisting?: InjectionToken;
}
