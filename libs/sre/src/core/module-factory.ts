import {
  DynamicModule,
  InjectionToken,
  Logger,
  ModuleMetadata,
  OptionalFactoryDependency,
  Provider,
  Type,
} from '@nestjs/common';
import type { ConnectorContext } from './connector';
import { SreCoreModule } from './core.module';
import { resolveDataDir } from './data-dir';
import { SreConfigError } from './errors';
import { SreLifecycleHost } from './lifecycle';
import { ConnectorClass, ConnectorRegistry } from './registry';
import { DEFAULT_CONNECT_RETRY, RetryPolicy, withRetry } from './retry';
import { collectSecretValues } from './secrets';
import { validateSettings } from './settings';
import { createUnavailableConnector } from './unavailable';

/** What selects and configures one connector instance (the part a factory may compute). */
export interface ConnectorOptions<S extends object = Record<string, any>> {
  /** A registered connector name (`'LocalStorage'`) or your own class extending the subsystem's service. */
  connector: string | ConnectorClass<any>;
  settings?: S;
  /** Connect on first use instead of at boot. */
  lazyConnect?: boolean;
  /** Retries of the initial connect (exponential backoff from 200 ms, capped at 3 s); default 3. */
  connectRetries?: number;
  /** First pause between connect attempts in milliseconds (doubles each time, capped at 3 s); default 200. */
  connectRetryDelayMs?: number;
  /** Root folder for connectors that keep files (default: `SRE_DATA_DIR`, else `./.sre`). */
  dataDir?: string;
}

/** Static options: the instance name and scope are fixed at import time, never computed. */
export interface SubsystemModuleStaticOptions {
  /** Named instance: injected with `@InjectX(name)` / `getXToken(name)` instead of the service class. */
  name?: string;
  isGlobal?: boolean;
  /** More names bound to this same instance. */
  aliases?: string[];
}

export type SubsystemModuleOptions<S extends object = Record<string, any>> = ConnectorOptions<S> &
  SubsystemModuleStaticOptions;

export interface ConnectorOptionsFactory {
  createConnectorOptions(): ConnectorOptions | Promise<ConnectorOptions>;
}

export interface SubsystemModuleAsyncOptions extends SubsystemModuleStaticOptions, Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory?: (...args: any[]) => ConnectorOptions | ResolvedOptions | Promise<ConnectorOptions | ResolvedOptions>;
  useClass?: Type<ConnectorOptionsFactory>;
  useExisting?: InjectionToken;
}

export interface ResolvedConnectorOptions {
  readonly kind: 'connector';
  readonly subsystem: string;
  readonly instance: string;
  readonly connectorName: string;
  readonly connectorClass: ConnectorClass<any>;
  readonly settings: object;
  readonly lazyConnect: boolean;
  readonly retry: RetryPolicy;
  readonly dataDir: string;
}

/** A subsystem deliberately left without a connector; its token resolves to a stand-in that throws. */
export interface UnavailableOptions {
  readonly kind: 'unavailable';
  readonly subsystem: string;
  readonly instance: string;
  readonly reason: string;
}

export type ResolvedOptions = ResolvedConnectorOptions | UnavailableOptions;

/** How one subsystem plugs into the shared module factory. */
export interface SubsystemDefinition {
  readonly subsystem: string;
  /** The abstract service class: contract, base class of the connectors and primary token. */
  readonly service: abstract new (...args: any[]) => any;
  readonly registry: ConnectorRegistry<any>;
  readonly token: (name?: string) => string;
  readonly optionsToken: (name?: string) => string;
  /** Other subsystems' tokens this one uses when present (resolved lazily to avoid import cycles). */
  readonly dependencies?: Readonly<Record<string, () => InjectionToken>>;
}

const STATIC_KEYS = ['name', 'isGlobal', 'aliases'] as const;
const OPTION_KEYS = new Set([
  'connector',
  'settings',
  'lazyConnect',
  'connectRetries',
  'connectRetryDelayMs',
  'dataDir',
]);

function isResolved(value: unknown): value is ResolvedOptions {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as ResolvedOptions).kind === 'connector' || (value as ResolvedOptions).kind === 'unavailable')
  );
}

function where(def: SubsystemDefinition, connector: string, instance: string): string {
  return `${def.subsystem}(${connector})${instance === 'default' ? '' : `[${instance}]`}`;
}

/**
 * Checks options without throwing: every problem is returned, so that SreModule can report all
 * subsystems' problems in one error.
 */
export function checkConnectorOptions(
  def: SubsystemDefinition,
  raw: unknown,
  instance = 'default',
): { resolved?: ResolvedOptions; problems: string[] } {
  if (isResolved(raw)) return { resolved: raw, problems: [] };
  if (typeof raw !== 'object' || raw === null) {
    return {
      problems: [
        `${def.subsystem}${instance === 'default' ? '' : `[${instance}]`}: options must be an object with a 'connector'`,
      ],
    };
  }
  const options = raw as ConnectorOptions & SubsystemModuleStaticOptions;
  const problems: string[] = [];
  const { connector } = options;
  let cls: ConnectorClass<any> | undefined;
  let connectorName = '?';
  if (typeof connector === 'string') {
    connectorName = connector;
    cls = def.registry.get(connector);
    if (!cls) problems.push(`${def.subsystem}: ${def.registry.describeMissing(connector)}`);
  } else if (typeof connector === 'function') {
    connectorName = connector.connectorName ?? connector.name;
    if (connector.prototype instanceof def.service) cls = connector;
    else problems.push(`${where(def, connectorName, instance)}: a custom connector must extend ${def.service.name}`);
  } else {
    problems.push(
      `${def.subsystem}${instance === 'default' ? '' : `[${instance}]`}.connector: must be a connector name or class (valid names: ${def.registry.names().join(', ') || 'none yet'})`,
    );
  }
  for (const key of STATIC_KEYS) {
    if (key in options && options[key] !== undefined) {
      problems.push(
        `${where(def, connectorName, instance)}.${key}: '${key}' is static: pass it to forRootAsync(), not from the factory`,
      );
    }
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key) && !(STATIC_KEYS as readonly string[]).includes(key)) {
      problems.push(`${where(def, connectorName, instance)}.${key}: unknown option`);
    }
  }
  if (
    options.connectRetries !== undefined &&
    (!Number.isInteger(options.connectRetries) || options.connectRetries < 0 || options.connectRetries > 20)
  ) {
    problems.push(`${where(def, connectorName, instance)}.connectRetries: must be an integer from 0 to 20`);
  }
  if (
    options.connectRetryDelayMs !== undefined &&
    (!Number.isInteger(options.connectRetryDelayMs) ||
      options.connectRetryDelayMs < 0 ||
      options.connectRetryDelayMs > 60_000)
  ) {
    problems.push(`${where(def, connectorName, instance)}.connectRetryDelayMs: must be an integer from 0 to 60000`);
  }
  if (!cls) return { problems };
  const checked = validateSettings(
    cls.settingsClass,
    options.settings,
    `${where(def, connectorName, instance)}.settings`,
  );
  problems.push(...checked.problems);
  if (problems.length) return { problems };
  return {
    problems,
    resolved: {
      kind: 'connector',
      subsystem: def.subsystem,
      instance,
      connectorName,
      connectorClass: cls,
      settings: checked.settings,
      lazyConnect: options.lazyConnect === true,
      retry: {
        ...DEFAULT_CONNECT_RETRY,
        retries: options.connectRetries ?? DEFAULT_CONNECT_RETRY.retries,
        initialDelayMs: options.connectRetryDelayMs ?? DEFAULT_CONNECT_RETRY.initialDelayMs,
      },
      dataDir: resolveDataDir(options.dataDir),
    },
  };
}

export function resolveConnectorOptions(def: SubsystemDefinition, raw: unknown, instance = 'default'): ResolvedOptions {
  const { resolved, problems } = checkConnectorOptions(def, raw, instance);
  if (!resolved) throw new SreConfigError(problems);
  return resolved;
}

/** Builds the connector for resolved options: construct, track for shutdown, connect (unless lazy). */
export async function startConnector(
  def: SubsystemDefinition,
  options: ResolvedOptions,
  host: SreLifecycleHost,
  deps: Record<string, unknown>,
): Promise<unknown> {
  if (options.kind === 'unavailable')
    return createUnavailableConnector(options.subsystem, options.instance, options.reason);
  const context: ConnectorContext = {
    subsystem: def.subsystem,
    connector: options.connectorName,
    instance: options.instance,
    dataDir: options.dataDir,
    logger: new Logger(where(def, options.connectorName, options.instance)),
    deps,
    secrets: collectSecretValues(options.settings),
  };
  const connector = new options.connectorClass(options.settings, context);
  host.track({
    subsystem: def.subsystem,
    instance: options.instance,
    connector: options.connectorName,
    ref: connector,
  });
  if (!options.lazyConnect) {
    try {
      await withRetry(() => connector.connect(), options.retry, context.logger, 'connect');
    } catch (error) {
      // Nest runs no shutdown hook after a failed boot: release what a half-open connect holds
      await connector.disconnect().catch(() => undefined);
      throw error;
    }
  }
  return connector;
}

/**
 * The one dynamic-module factory every subsystem uses. The connector provider (primary token: the
 * service class, or `getXToken(name)` for a named instance) owns the connection; aliases point at it
 * with `useExisting`, so overriding the primary token removes the connection entirely.
 */
export function createSubsystemModule(def: SubsystemDefinition) {
  const build = (
    moduleClass: Type<unknown>,
    statics: SubsystemModuleStaticOptions,
    optionProviders: Provider[],
    imports: ModuleMetadata['imports'] = [],
  ): DynamicModule => {
    const instance = statics.name ?? 'default';
    const primary: InjectionToken = statics.name ? def.token(statics.name) : def.service;
    const depKeys = Object.keys(def.dependencies ?? {});
    const connectorProvider: Provider = {
      provide: primary,
      inject: [
        def.optionsToken(instance),
        SreLifecycleHost,
        ...depKeys.map((key) => ({ token: def.dependencies![key](), optional: true })),
      ],
      useFactory: (options: ResolvedOptions, host: SreLifecycleHost, ...deps: unknown[]) =>
        startConnector(def, options, host, Object.fromEntries(depKeys.map((key, i) => [key, deps[i]]))),
    };
    const aliasNames = [...(statics.name ? [] : ['default']), ...(statics.aliases ?? [])];
    const aliases: Provider[] = aliasNames.map((alias) => ({ provide: def.token(alias), useExisting: primary }));
    return {
      module: moduleClass,
      global: statics.isGlobal === true,
      imports: [SreCoreModule, ...imports],
      providers: [...optionProviders, connectorProvider, ...aliases],
      exports: [primary, ...aliasNames.map((alias) => def.token(alias)), def.optionsToken(instance)],
    };
  };

  return {
    forRoot(moduleClass: Type<unknown>, options: SubsystemModuleOptions): DynamicModule {
      const { name, isGlobal, aliases, ...connectorOptions } = options ?? ({} as SubsystemModuleOptions);
      const instance = name ?? 'default';
      return build(moduleClass, { name, isGlobal, aliases }, [
        {
          provide: def.optionsToken(instance),
          useFactory: () => resolveConnectorOptions(def, connectorOptions, instance),
        },
      ]);
    },

    forRootAsync(moduleClass: Type<unknown>, options: SubsystemModuleAsyncOptions): DynamicModule {
      const instance = options?.name ?? 'default';
      const statics = { name: options?.name, isGlobal: options?.isGlobal, aliases: options?.aliases };
      const token = def.optionsToken(instance);
      const resolve = async (produced: unknown) => resolveConnectorOptions(def, await produced, instance);
      let providers: Provider[];
      if (options?.useFactory) {
        const factory = options.useFactory;
        providers = [
          {
            provide: token,
            inject: options.inject ?? [],
            useFactory: (...args: unknown[]) => resolve(factory(...args)),
          },
        ];
      } else if (options?.useClass) {
        const factoryToken = `${token}:factory`;
        providers = [
          { provide: factoryToken, useClass: options.useClass },
          {
            provide: token,
            inject: [factoryToken],
            useFactory: (f: ConnectorOptionsFactory) => resolve(f.createConnectorOptions()),
          },
        ];
      } else if (options?.useExisting) {
        providers = [
          {
            provide: token,
            inject: [options.useExisting],
            useFactory: (f: ConnectorOptionsFactory) => resolve(f.createConnectorOptions()),
          },
        ];
      } else {
        throw new SreConfigError([
          `${def.subsystem}Module.forRootAsync() needs one of useFactory, useClass or useExisting`,
        ]);
      }
      return build(moduleClass, statics, providers, options.imports);
    },
  };
}
