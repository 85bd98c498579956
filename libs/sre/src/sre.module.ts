import {
  DynamicModule,
  Global,
  InjectionToken,
  Module,
  ModuleMetadata,
  OptionalFactoryDependency,
  Provider,
} from '@nestjs/common';
import { SreCoreModule } from './core/core.module';
import { SreConfigError } from './core/errors';
import { checkConnectorOptions, ResolvedOptions } from './core/subsystem';
import { isSubsystemName, SubsystemName, SUBSYSTEMS } from './core/subsystems';
import { loadSreConfig, SRE_DEFAULTS, SreConfig, SreEntry, SreLooseConfig } from './sre.config';
import { SRE_SUBSYSTEMS } from './sre.subsystems';

export const SRE_RESOLVED_CONFIG = 'SreResolvedConfig';

export interface SreModuleOptions {
  /** Root for connectors that keep files when their settings name no folder (default `SRE_DATA_DIR`, else `./.sre`). */
  dataDir?: string;
}

export interface SreModuleAsyncOptions extends SreModuleOptions, Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (
    ...args: any[]
  ) => SreConfig | SreLooseConfig | undefined | Promise<SreConfig | SreLooseConfig | undefined>;
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
        const check = checkConnectorOptions(definition, {
          connector: fallback.Connector,
          settings: fallback.Settings,
          dataDir: options.dataDir,
        });
        problems.push(...check.problems);
        if (check.resolved) resolved.set(`${subsystem}:default`, check.resolved);
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
      for (const key of Object.keys(entry))
        if (!ENTRY_KEYS.has(key))
          problems.push(`${at}.${key}: unknown key (entries take ${[...ENTRY_KEYS].join(', ')})`);
      if (entry.Connector === undefined) problems.push(`${at}.Connector: is required`);
      if (entry.Id !== undefined) {
        if (typeof entry.Id !== 'string' || !/^[A-Za-z0-9_-]+$/.test(entry.Id) || entry.Id === 'default')
          problems.push(`${at}.Id: must be letters, digits, '_' or '-' and not 'default'`);
        else if (ids.has(entry.Id)) problems.push(`${at}.Id: '${entry.Id}' is used twice`);
        ids.add(entry.Id);
      }
      const instance = entry === primary ? 'default' : entry.Id;
      if (instance === undefined) {
        problems.push(`${at}: every entry but the default one needs an Id`);
        return;
      }
      if (instance !== 'default' && declared && !declared[subsystem]?.includes(instance)) {
        problems.push(
          `${at}: named instance '${instance}' must be declared in SreModule.forRootAsync({ instances: { ${subsystem}: ['${instance}'] } })`,
        );
        return;
      }
      const check = checkConnectorOptions(
        definition,
        {
          connector: entry.Connector,
          settings: entry.Settings,
          lazyConnect: entry.LazyConnect,
          connectRetries: entry.ConnectRetries,
          connectRetryDelayMs: entry.ConnectRetryDelayMs,
          dataDir: options.dataDir,
        },
        instance,
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
    return SreModule.assemble(holder, [], named, aliases);
  }

  /** Config from a factory, e.g. `@nestjs/config`: `useFactory: (c: ConfigService) => c.get('sre')`. */
  static forRootAsync(options: SreModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function')
      throw new SreConfigError(['SreModule.forRootAsync() needs a useFactory returning the SRE config']);
    const holder: Provider = {
      provide: SRE_RESOLVED_CONFIG,
      inject: options.inject ?? [],
      useFactory: async (...args: unknown[]) =>
        resolveSreConfig((await options.useFactory(...args)) ?? {}, options, options.instances ?? {}),
    };
    return SreModule.assemble(holder, options.imports ?? [], options.instances ?? {}, {});
  }

  private static assemble(
    holder: Provider,
    imports: NonNullable<ModuleMetadata['imports']>,
    named: Partial<Record<SubsystemName, string[]>>,
    aliases: Partial<Record<SubsystemName, string[]>>,
  ): DynamicModule {
    const configModule: DynamicModule = {
      module: SreConfigHolderModule,
      imports,
      providers: [holder],
      exports: [SRE_RESOLVED_CONFIG],
    };
    const subsystemModules = SUBSYSTEMS.flatMap((subsystem) => {
      const { module } = SRE_SUBSYSTEMS[subsystem];
      const forInstance = (name?: string) =>
        module.forRootAsync({
          name,
          isGlobal: true,
          aliases: name ? undefined : aliases[subsystem],
          imports: [configModule],
          inject: [SRE_RESOLVED_CONFIG],
          // already resolved and validated with every other subsystem's entries
          useFactory: (config: ResolvedSreConfig) => config.get(subsystem, name ?? 'default') as never,
        });
      return [forInstance(), ...(named[subsystem] ?? []).map((name) => forInstance(name))];
    });
    return {
      module: SreModule,
      global: true,
      imports: [SreCoreModule, configModule, ...subsystemModules],
      exports: [configModule],
    };
  }
}

/** Holds the resolved configuration; one instance per SreModule import. */
@Module({})
export class SreConfigHolderModule {}
