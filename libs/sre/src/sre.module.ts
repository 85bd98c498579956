import {
  DynamicModule,
  Global,
  InjectionToken,
  Module,
  ModuleMetadata,
  OptionalFactoryDependency,
  Provider,
  Type,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SreCoreModule } from './core/core.module';
import { SreConfigError } from './core/errors';
import { RedisConnection } from './core/redis/redis-connection';
import { SRE_REDIS_CONNECTION, sreRedisConnectionProvider } from './core/redis/redis-sre';
import { SreExceptionFilter } from './core/sre-exception.filter';
import { CommonOptionValues, commonOptionProblems, ResolvedOptions } from './core/subsystem';
import { isSubsystemName, SubsystemName, SUBSYSTEMS } from './core/subsystems';
import { isFromEnvironment, loadSreConfig, SRE_DEFAULTS, SreConfig, SreEntry, SreLooseConfig } from './sre.config';
import { SRE_SUBSYSTEMS } from './sre.subsystems';

export const SRE_RESOLVED_CONFIG = 'SreResolvedConfig';
const SRE_CONFIG_FACTORY = 'SreConfigFactory';

export interface SreModuleOptions {
  /** Root for connectors that keep files when their settings name no folder (default `SRE_DATA_DIR`, else `./.sre`). */
  dataDir?: string;
  /**
   * Registers `SreExceptionFilter` as a global filter (`APP_FILTER`), so that the library's errors
   * answer 400/403/404/503/500 over HTTP. Default `true`; `false` leaves error mapping to you.
   */
  exceptionFilter?: boolean;
}

type SreConfigResult = SreConfig | SreLooseConfig | undefined;

/** A class that produces the SRE config, for `SreModule.forRootAsync({ useClass })` / `useExisting`. */
export interface SreConfigFactory {
  createSreConfig(): SreConfigResult | Promise<SreConfigResult>;
}

export interface SreModuleAsyncOptions extends SreModuleOptions, Pick<ModuleMetadata, 'imports'> {
  /** Providers handed to `useFactory`. */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** Returns the seed-format config (`{}` for every default; `undefined` fails the boot). */
  useFactory?: (...args: any[]) => SreConfigResult | Promise<SreConfigResult>;
  /** A class with `createSreConfig()`, instantiated in this module with its own dependencies. */
  useClass?: Type<SreConfigFactory>;
  /** A provider with `createSreConfig()` that `imports` (or a global module) provides. */
  useExisting?: InjectionToken;
  /** Named instances (entries with an `Id`) the factory will define: modules are built before it runs. */
  instances?: Partial<Record<SubsystemName, string[]>>;
}

const ENTRY_KEYS = new Set([
  'Connector',
  'Settings',
  'Id',
  'Default',
  'LazyConnect',
  'ConnectRetries',
  'ConnectRetryDelayMs',
]);
/** The keys of an XModule's options: an entry holding one was written for the wrong API. */
const CAMEL_KEYS = new Set([
  'connector',
  'settings',
  'id',
  'name',
  'default',
  'lazyConnect',
  'connectRetries',
  'connectRetryDelayMs',
  'dataDir',
]);
const SEED_NAMES: Record<keyof CommonOptionValues, string> = {
  lazyConnect: 'LazyConnect',
  connectRetries: 'ConnectRetries',
  connectRetryDelayMs: 'ConnectRetryDelayMs',
};

/** Every subsystem's connector options, checked together. */
export class ResolvedSreConfig {
  constructor(private readonly byInstance: ReadonlyMap<string, ResolvedOptions>) {}

  get(subsystem: SubsystemName, instance = 'default'): ResolvedOptions {
    return (
      this.byInstance.get(`${subsystem}:${instance}`) ?? {
        kind: 'unavailable',
        subsystem,
        instance,
        reason: `the configuration defines no ${subsystem} entry with Id '${instance}'`,
      }
    );
  }
}

function entriesOf(value: SreEntry | SreEntry[] | undefined): SreEntry[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Resolves the seed-format config: fills defaults, validates every entry of every subsystem and
 * throws one `SreConfigError` listing all problems.
 */
export function resolveSreConfig(
  config: SreConfig | SreLooseConfig,
  options: SreModuleOptions = {},
  declared?: Partial<Record<SubsystemName, string[]>>,
): ResolvedSreConfig {
  const problems: string[] = [];
  const resolved = new Map<string, ResolvedOptions>();
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new SreConfigError(['config: must be an object like { Storage: { Connector: "LocalStorage" } }']);
  for (const key of Object.keys(config)) {
    if (!isSubsystemName(key)) problems.push(`${key}: unknown subsystem (valid: ${SUBSYSTEMS.join(', ')})`);
  }
  const loose = config as SreLooseConfig;
  for (const subsystem of SUBSYSTEMS) {
    const { definition } = SRE_SUBSYSTEMS[subsystem];
    const entries = entriesOf(loose[subsystem]);
    if (entries.length === 0) {
      const fallback = SRE_DEFAULTS[subsystem];
      if (fallback && definition.registry.has(fallback.Connector)) {
        const check = definition.check({
          connector: fallback.Connector,
          settings: fallback.Settings,
          dataDir: options.dataDir,
        });
        problems.push(...check.problems);
        if (check.resolved?.kind === 'connector')
          resolved.set(`${subsystem}:default`, { ...check.resolved, implicit: true });
      } else {
        const available = definition.registry.names().join(', ') || 'none yet';
        const reason = fallback
          ? `not configured, and its default connector '${String(fallback.Connector)}' is not available in this version (available: ${available})`
          : `not configured (available connectors: ${available})`;
        resolved.set(`${subsystem}:default`, { kind: 'unavailable', subsystem, instance: 'default', reason });
      }
      continue;
    }
    const ids = new Set<string>();
    const defaults = entries.filter((entry) => entry?.Default === true);
    if (defaults.length > 1) problems.push(`${subsystem}: more than one entry has Default: true`);
    const primary = defaults[0] ?? entries[0];
    entries.forEach((entry, index) => {
      const at = entries.length > 1 ? `${subsystem}[${index}]` : subsystem;
      if (!entry || typeof entry !== 'object') {
        problems.push(`${at}: must be an object like { Connector: '...', Settings: {...} }`);
        return;
      }
      const camel = Object.keys(entry).filter((key) => CAMEL_KEYS.has(key));
      if (camel.length) {
        // one sentence for the whole entry rather than an unknown key each and a missing Connector
        problems.push(
          `${at}: SreModule entries take the seed's PascalCase keys ({ ${[...ENTRY_KEYS].join(', ')} }); ${camel.join(', ')} ${camel.length > 1 ? 'are' : 'is'} the camelCase of ${subsystem}Module.forRoot()`,
        );
        return;
      }
      for (const key of Object.keys(entry))
        if (!ENTRY_KEYS.has(key))
          problems.push(`${at}.${key}: unknown key (entries take ${[...ENTRY_KEYS].join(', ')})`);
      if (entry.Connector === undefined) problems.push(`${at}.Connector: is required`);
      if (entry.Default !== undefined && typeof entry.Default !== 'boolean')
        problems.push(`${at}.Default: must be a boolean`);
      // only the checked values go on: a wrong one is reported once, under its seed name
      const common: Record<string, unknown> = {};
      for (const [key, value] of Object.entries({
        lazyConnect: entry.LazyConnect,
        connectRetries: entry.ConnectRetries,
        connectRetryDelayMs: entry.ConnectRetryDelayMs,
      })) {
        const found = commonOptionProblems(
          { [key]: value },
          (name) => `${at}.${SEED_NAMES[name as keyof CommonOptionValues]}`,
        );
        problems.push(...found);
        common[key] = found.length ? undefined : value;
      }
      // a value from the environment may be a secret: messages say where it came from instead
      const idText = isFromEnvironment(entry, 'Id') ? '(from the environment)' : `'${String(entry.Id)}'`;
      if (entry.Id !== undefined) {
        if (typeof entry.Id !== 'string' || !/^[A-Za-z0-9_-]+$/.test(entry.Id) || entry.Id === 'default')
          problems.push(`${at}.Id: must be letters, digits, '_' or '-' and not 'default'`);
        else if (ids.has(entry.Id)) problems.push(`${at}.Id: ${idText} is used twice`);
        ids.add(entry.Id);
      }
      const instance = entry === primary ? 'default' : entry.Id;
      if (instance === undefined) {
        problems.push(`${at}: every entry but the default one needs an Id`);
        return;
      }
      if (instance !== 'default' && declared && !declared[subsystem]?.includes(instance)) {
        problems.push(
          isFromEnvironment(entry, 'Id')
            ? `${at}: a named instance whose Id comes from the environment must be declared in SreModule.forRootAsync({ instances: { ${subsystem}: [...] } })`
            : `${at}: named instance '${instance}' must be declared in SreModule.forRootAsync({ instances: { ${subsystem}: ['${instance}'] } })`,
        );
        return;
      }
      // already reported as required: the connector check would say it again
      if (entry.Connector === undefined) return;
      const check = definition.check(
        {
          connector: entry.Connector,
          settings: entry.Settings,
          ...common,
          dataDir: options.dataDir,
        },
        instance,
        { hideConnectorName: typeof entry.Connector === 'string' && isFromEnvironment(entry, 'Connector') },
      );
      problems.push(...check.problems);
      if (check.resolved) resolved.set(`${subsystem}:${instance}`, check.resolved);
    });
  }
  if (problems.length) throw new SreConfigError(problems);
  return new ResolvedSreConfig(resolved);
}

/** Named instances of a static config, by subsystem (the default entry's Id becomes an alias). */
function instancesOf(config: SreLooseConfig): {
  named: Partial<Record<SubsystemName, string[]>>;
  aliases: Partial<Record<SubsystemName, string[]>>;
} {
  const named: Partial<Record<SubsystemName, string[]>> = {};
  const aliases: Partial<Record<SubsystemName, string[]>> = {};
  for (const subsystem of SUBSYSTEMS) {
    const entries = entriesOf(config?.[subsystem]).filter((entry) => entry && typeof entry === 'object');
    const primary = entries.find((entry) => entry.Default === true) ?? entries[0];
    for (const entry of entries) {
      if (typeof entry.Id !== 'string' || entry.Id === 'default') continue;
      (entry === primary ? (aliases[subsystem] ??= []) : (named[subsystem] ??= [])).push(entry.Id);
    }
  }
  return { named, aliases };
}

/**
 * The aggregator: one import gives the application every subsystem of the seed, each as a global
 * provider (`StorageService`, `CacheService`, ...), configured from the seed's object format with
 * the seed's defaults for whatever is left out.
 */
@Global()
@Module({})
export class SreModule {
  /**
   * `SreModule.forRoot({ Storage: { Connector: 'LocalStorage', Settings: { folder } } })`.
   * Without a config it reads the JSON file named by `SRE_CONFIG` (or `SRE_CONFIG_JSON`), else uses
   * the defaults.
   */
  static forRoot(config?: SreConfig, options: SreModuleOptions = {}): DynamicModule {
    let loaded: SreLooseConfig = {};
    let loadError: unknown;
    try {
      loaded = (config as SreLooseConfig | undefined) ?? loadSreConfig();
    } catch (error) {
      // reported when the application boots, not when this file is imported
      loadError = error;
    }
    const { named, aliases } = instancesOf(loaded);
    const holder: Provider = {
      provide: SRE_RESOLVED_CONFIG,
      useFactory: () => {
        if (loadError) throw loadError;
        return resolveSreConfig(loaded, options);
      },
    };
    return SreModule.assemble('SreModule.forRoot()', options, [holder], [], named, aliases);
  }

  /**
   * Config from a factory, e.g. `@nestjs/config`: `useFactory: (c: ConfigService) => c.get('sre')`,
   * or from a class with `createSreConfig()` (`useClass`, `useExisting`).
   */
  static forRootAsync(options: SreModuleAsyncOptions): DynamicModule {
    const sources = (['useFactory', 'useClass', 'useExisting'] as const).filter((key) => options?.[key] !== undefined);
    if (sources.length !== 1)
      throw new SreConfigError([
        `SreModule.forRootAsync() needs one of useFactory, useClass or useExisting${sources.length ? ` (got ${sources.join(' and ')})` : ''}`,
      ]);
    if (options.useFactory !== undefined && typeof options.useFactory !== 'function')
      throw new SreConfigError(['SreModule.forRootAsync(): useFactory must be a function returning the SRE config']);
    const instances = options.instances ?? {};
    const produce = async (what: string, produced: SreConfigResult | Promise<SreConfigResult>) => {
      const config = await produced;
      // a missing config key (`config.get('sre')`) would otherwise boot on every default
      if (config === undefined || config === null)
        throw new SreConfigError([
          `SreModule.forRootAsync: ${what} returned ${String(config)}; return {} to use every default`,
        ]);
      return resolveSreConfig(config, options, instances);
    };
    let providers: Provider[];
    if (options.useFactory) {
      const factory = options.useFactory;
      providers = [
        {
          provide: SRE_RESOLVED_CONFIG,
          inject: options.inject ?? [],
          useFactory: (...args: unknown[]) => produce('the factory', factory(...args)),
        },
      ];
    } else {
      const token = options.useClass ? SRE_CONFIG_FACTORY : options.useExisting!;
      providers = [
        ...(options.useClass ? [{ provide: SRE_CONFIG_FACTORY, useClass: options.useClass }] : []),
        {
          provide: SRE_RESOLVED_CONFIG,
          inject: [token],
          useFactory: (factory: SreConfigFactory) => {
            if (typeof factory?.createSreConfig !== 'function')
              throw new SreConfigError([
                `SreModule.forRootAsync: the ${options.useClass ? 'useClass' : 'useExisting'} provider has no createSreConfig() method`,
              ]);
            return produce('createSreConfig()', factory.createSreConfig());
          },
        },
      ];
    }
    return SreModule.assemble('SreModule.forRootAsync()', options, providers, options.imports ?? [], instances, {});
  }

  private static assemble(
    origin: string,
    options: SreModuleOptions,
    holder: Provider[],
    imports: NonNullable<ModuleMetadata['imports']>,
    named: Partial<Record<SubsystemName, string[]>>,
    aliases: Partial<Record<SubsystemName, string[]>>,
  ): DynamicModule {
    if (options?.exceptionFilter !== undefined && typeof options.exceptionFilter !== 'boolean')
      throw new SreConfigError([`${origin}: exceptionFilter must be a boolean`]);
    // one Redis client for Cache and NKV, made from their entries' settings (none when neither uses Redis)
    const redis = sreRedisConnectionProvider(SRE_RESOLVED_CONFIG, (config, subsystem) =>
      (config as ResolvedSreConfig).get(subsystem as SubsystemName),
    );
    const configModule: DynamicModule = {
      module: SreConfigHolderModule,
      imports: [SreCoreModule, ...imports],
      providers: [...holder, redis],
      exports: [SRE_RESOLVED_CONFIG, RedisConnection.token(SRE_REDIS_CONNECTION)],
    };
    const subsystemModules = SUBSYSTEMS.flatMap((subsystem) => {
      const { module, definition } = SRE_SUBSYSTEMS[subsystem];
      const forInstance = (name?: string) =>
        definition.forRootAsync(
          module as unknown as Type<unknown>,
          {
            name,
            isGlobal: true,
            aliases: name ? undefined : aliases[subsystem],
            uses: definition.registry.dependencies().has('redis') ? { redis: SRE_REDIS_CONNECTION } : undefined,
            imports: [configModule],
            inject: [SRE_RESOLVED_CONFIG],
            // already resolved and validated with every other subsystem's entries
            useFactory: (config: ResolvedSreConfig) => config.get(subsystem, name ?? 'default') as never,
          },
          origin,
        );
      return [forInstance(), ...(named[subsystem] ?? []).map((name) => forInstance(name))];
    });
    return {
      module: SreModule,
      global: true,
      imports: [SreCoreModule, configModule, ...subsystemModules],
      // the library's errors answer with their HTTP status in every HTTP app, unless opted out
      providers: options?.exceptionFilter === false ? [] : [{ provide: APP_FILTER, useClass: SreExceptionFilter }],
      exports: [configModule],
    };
  }
}

/** Holds the resolved configuration; one instance per SreModule import. */
@Module({})
export class SreConfigHolderModule {}
