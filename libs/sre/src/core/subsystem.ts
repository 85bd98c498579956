import {
  DynamicModule,
  Inject,
  InjectionToken,
  Logger,
  ModuleMetadata,
  OptionalFactoryDependency,
  Provider,
  Type,
} from '@nestjs/common';
import { labelOf, type ConnectorContext, type SreBackend } from './backend';
import { SreCoreModule } from './core.module';
import { resolveDataDir } from './data-dir';
import { SreConfigError } from './errors';
import { SreLifecycleHost } from './lifecycle';
import type {
  ConnectorOptions,
  ConnectorOptionsFactory,
  SubsystemModuleAsyncOptions,
  SubsystemModuleOptions,
  SubsystemModuleStaticOptions,
} from './options';
import {
  BackendClass,
  BackendFactory,
  ConnectorEntry,
  ConnectorRegistry,
  Dependency,
  isConnectorName,
} from './registry';
import { DEFAULT_CONNECT_RETRY, RetryPolicy, withRetry } from './retry';
import { collectSecretValues } from './secrets';
import type { SreService } from './service';
import { validateSettings } from './settings';
import { createUnavailableConnector } from './unavailable';

/** How the backend of a resolved instance is built. */
export type BackendBuilder =
  | { readonly kind: 'class'; readonly cls: BackendClass<any>; readonly entry?: ConnectorEntry<any> }
  | { readonly kind: 'factory'; readonly factory: BackendFactory<any> };

export interface ResolvedConnectorOptions {
  readonly kind: 'connector';
  readonly subsystem: string;
  readonly instance: string;
  readonly connectorName: string;
  readonly builder: BackendBuilder;
  readonly settings: object;
  readonly lazyConnect: boolean;
  readonly retry: RetryPolicy;
  readonly dataDir: string;
  /** Filled in from the seed's defaults, not configured (see `ConnectorContext.implicit`). */
  readonly implicit?: boolean;
}

/** A subsystem deliberately left without a connector; its token resolves to a stand-in that throws. */
export interface UnavailableOptions {
  readonly kind: 'unavailable';
  readonly subsystem: string;
  readonly instance: string;
  readonly reason: string;
}

export type ResolvedOptions = ResolvedConnectorOptions | UnavailableOptions;

/** A service class: built by the module over its backend, with the dependencies it declared. */
export type ServiceClass<S, B, D> = (new (backend: B, context: ConnectorContext, deps: D) => S) & {
  readonly name: string;
};

/** One subsystem, declared once: everything else (module, tokens, decorator, registry) derives from it. */
export interface SubsystemSpec<S, B extends SreBackend, D extends object> {
  /** Subsystem id, e.g. `Storage`: the token prefix, the module's name and the label in messages. */
  readonly subsystem: string;
  /** The concrete service: injection token of the default instance, owner of policy and lifecycle. */
  readonly service: ServiceClass<S, B, D>;
  /** The operations a backend must have: a custom connector lacking one is refused at boot. */
  readonly operations: readonly (keyof B & string)[];
  /** What the service needs from other subsystems (e.g. Account for team resolution). */
  readonly uses?: { readonly [K in keyof D]: Dependency<D[K]> };
  /** Registered connectors by name; entries without `load` are planned for a later version. */
  readonly connectors?: Readonly<Record<string, ConnectorEntry<B>>>;
}

const OPTION_KEYS = new Set([
  'connector',
  'settings',
  'lazyConnect',
  'connectRetries',
  'connectRetryDelayMs',
  'dataDir',
]);
const STATIC_KEYS = ['name', 'isGlobal', 'aliases', 'uses'] as const;
/** The seed format's entry keys (SreModule's); an XModule given one was handed a seed entry. */
const SEED_KEYS = new Set([
  'Connector',
  'Settings',
  'Id',
  'Default',
  'LazyConnect',
  'ConnectRetries',
  'ConnectRetryDelayMs',
]);

/** How `check` treats what it is given. */
export interface CheckOptions {
  /** The options hold a factory connector whose `inject` forRoot resolves. */
  readonly staticInject?: boolean;
  /** The connector name came from the environment: never repeated in a message. */
  readonly hideConnectorName?: boolean;
}

/** The options every connector takes besides its settings, by the name the caller spells them with. */
export interface CommonOptionValues {
  readonly lazyConnect?: unknown;
  readonly connectRetries?: unknown;
  readonly connectRetryDelayMs?: unknown;
}

/**
 * Type and range problems of `lazyConnect`, `connectRetries` and `connectRetryDelayMs`, each named by
 * `at(key)` (SreModule names them `Storage.LazyConnect`, an XModule `Storage(LocalStorage).lazyConnect`).
 */
export function commonOptionProblems(
  values: CommonOptionValues,
  at: (key: keyof CommonOptionValues) => string,
): string[] {
  const problems: string[] = [];
  if (values.lazyConnect !== undefined && typeof values.lazyConnect !== 'boolean')
    problems.push(`${at('lazyConnect')}: must be a boolean`);
  checkInteger(values.connectRetries, 20, at('connectRetries'), problems);
  checkInteger(values.connectRetryDelayMs, 60_000, at('connectRetryDelayMs'), problems);
  return problems;
}

function isResolved(value: unknown): value is ResolvedOptions {
  const kind = (value as ResolvedOptions | undefined)?.kind;
  return typeof value === 'object' && value !== null && (kind === 'connector' || kind === 'unavailable');
}

function isFactory(value: unknown): value is BackendFactory {
  return typeof value === 'object' && value !== null && typeof (value as BackendFactory).useFactory === 'function';
}

function where(subsystem: string, connector: string, instance: string): string {
  return labelOf({ subsystem, connector, instance });
}

function checkInteger(value: unknown, max: number, at: string, problems: string[]): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max))
    problems.push(`${at}: must be an integer from 0 to ${max}`);
}

/**
 * The subsystem as the module factory and SreModule use it. `defineSubsystem()` below builds one from a
 * spec; it is also what `nestjs-sre/testing` and SreModule read.
 */
export class Subsystem<S = unknown, B extends SreBackend = SreBackend, D extends object = any> {
  readonly subsystem: string;
  readonly registry: ConnectorRegistry<B>;
  readonly service: ServiceClass<S, B, D>;

  constructor(readonly spec: SubsystemSpec<S, B, D>) {
    this.subsystem = spec.subsystem;
    this.service = spec.service;
    this.registry = new ConnectorRegistry<B>(spec.subsystem);
    for (const [name, entry] of Object.entries(spec.connectors ?? {})) this.registry.register(name, entry);
  }

  /** Token of a named instance (`'SreStorage:archive'`); `default` aliases the service class. */
  token = (name = 'default'): string => `Sre${this.subsystem}:${name}`;

  optionsToken = (name = 'default'): string => `Sre${this.subsystem}Options:${name}`;

  /** `@InjectStorage()` / `@InjectStorage('archive')`. */
  inject = (name?: string): PropertyDecorator & ParameterDecorator => Inject(name ? this.token(name) : this.service);

  /** This subsystem as a dependency of another: its default instance, or the one `uses` names. */
  dependency(what: string, optional = false): Dependency<S> {
    return {
      what: `the ${this.subsystem} subsystem (${what})`,
      hint: `import ${this.subsystem}Module.forRoot({ ..., isGlobal: true }) or SreModule`,
      token: (instance = 'default') => (instance === 'default' ? this.service : this.token(instance)),
      optional,
    };
  }

  /**
   * Checks options without throwing: every problem is returned, so that SreModule can report all
   * subsystems' problems in one error.
   */
  check(
    raw: unknown,
    instance = 'default',
    checkOptions: CheckOptions | boolean = {},
  ): { resolved?: ResolvedOptions; problems: string[] } {
    if (isResolved(raw)) return { resolved: raw, problems: [] };
    const { staticInject = false, hideConnectorName = false } =
      typeof checkOptions === 'boolean' ? { staticInject: checkOptions } : checkOptions;
    const at = instance === 'default' ? this.subsystem : `${this.subsystem}[${instance}]`;
    if (typeof raw !== 'object' || raw === null)
      return { problems: [`${at}: options must be an object with a 'connector'`] };
    const seedKeys = Object.keys(raw).filter((key) => SEED_KEYS.has(key));
    if (seedKeys.length)
      return {
        problems: [
          `${at}: ${this.subsystem}Module takes camelCase options ({ connector, settings, lazyConnect, connectRetries, connectRetryDelayMs, dataDir }); ${seedKeys.join(', ')} ${seedKeys.length > 1 ? 'are' : 'is'} the seed format of SreModule.forRoot()`,
        ],
      };
    const options = raw as ConnectorOptions<B> & SubsystemModuleStaticOptions;
    const problems: string[] = [];
    const { connector } = options;
    let builder: BackendBuilder | undefined;
    // what messages call the connector; undefined while it is a name that must not be repeated
    let connectorName: string | undefined = '?';
    let settingsClass: (new () => object) | undefined;
    if (typeof connector === 'string') {
      const found = this.registry.lookup(connector, { hideName: hideConnectorName });
      const known = !('problem' in found) || this.registry.isPlanned(connector);
      connectorName = known || (!hideConnectorName && isConnectorName(connector)) ? connector : undefined;
      if ('problem' in found)
        problems.push(
          `${found.problem.startsWith('install') ? where(this.subsystem, connector, instance) : this.subsystem}: ${found.problem}`,
        );
      else {
        builder = { kind: 'class', cls: found.cls, entry: found.entry };
        settingsClass = found.cls.settingsClass;
      }
    } else if (typeof connector === 'function') {
      connectorName = (connector as BackendClass).connectorName ?? connector.name;
      builder = { kind: 'class', cls: connector as BackendClass<B> };
      settingsClass = (connector as BackendClass).settingsClass;
    } else if (isFactory(connector)) {
      connectorName = connector.connectorName ?? 'factory';
      builder = { kind: 'factory', factory: connector };
      if (connector.inject?.length && !staticInject)
        problems.push(
          `${where(this.subsystem, connectorName, instance)}.connector.inject: a factory returned by forRootAsync gets its providers through forRootAsync's own inject`,
        );
      if (options.settings !== undefined)
        problems.push(
          `${where(this.subsystem, connectorName, instance)}.settings: a factory connector takes no settings`,
        );
    } else {
      problems.push(
        `${at}.connector: must be a connector name, a class or { useFactory } (valid names: ${this.registry.names().join(', ') || 'none yet'})`,
      );
    }
    const prefix = connectorName === undefined ? at : where(this.subsystem, connectorName, instance);
    for (const key of STATIC_KEYS)
      if (key in options && options[key] !== undefined)
        problems.push(`${prefix}.${key}: '${key}' is static: pass it to forRootAsync(), not from the factory`);
    for (const key of Object.keys(options))
      if (!OPTION_KEYS.has(key) && !(STATIC_KEYS as readonly string[]).includes(key))
        problems.push(`${prefix}.${key}: unknown option`);
    problems.push(...commonOptionProblems(options, (key) => `${prefix}.${key}`));
    if (options.dataDir !== undefined && typeof options.dataDir !== 'string')
      problems.push(`${prefix}.dataDir: must be a string`);
    if (!builder || connectorName === undefined) return { problems };
    const checked =
      builder.kind === 'factory'
        ? { settings: {}, problems: [] }
        : validateSettings(settingsClass, options.settings, `${prefix}.settings`);
    problems.push(...checked.problems);
    if (problems.length) return { problems };
    return {
      problems,
      resolved: {
        kind: 'connector',
        subsystem: this.subsystem,
        instance,
        connectorName,
        builder,
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

  resolve(raw: unknown, instance = 'default', checkOptions: CheckOptions | boolean = {}): ResolvedOptions {
    const { resolved, problems } = this.check(raw, instance, checkOptions);
    if (!resolved) throw new SreConfigError(problems);
    return resolved;
  }

  /**
   * Builds the service for resolved options: the backend (class or factory) with its declared
   * dependencies, the service around it, tracked for shutdown, connected unless lazy.
   */
  async start(
    options: ResolvedOptions,
    host: SreLifecycleHost,
    available: ReadonlyMap<string, unknown>,
    factoryArgs: readonly unknown[] = [],
  ): Promise<S> {
    if (options.kind === 'unavailable')
      return createUnavailableConnector(options.subsystem, options.instance, options.reason) as S;
    const label = where(this.subsystem, options.connectorName, options.instance);
    const need = (key: string, dep: Dependency): unknown => {
      const value = available.get(key);
      if (value === undefined && !dep.optional)
        throw new SreConfigError([`${label}: needs ${dep.what}, which this application does not provide: ${dep.hint}`]);
      return value;
    };
    const serviceDeps = Object.fromEntries(
      Object.entries((this.spec.uses ?? {}) as Record<string, Dependency>).map(([key, dep]) => [key, need(key, dep)]),
    ) as D;
    const { builder } = options;
    const connectorDeps =
      builder.kind === 'class'
        ? Object.fromEntries(Object.entries(builder.entry?.uses ?? {}).map(([key, dep]) => [key, need(key, dep)]))
        : {};
    const context: ConnectorContext = {
      subsystem: this.subsystem,
      connector: options.connectorName,
      instance: options.instance,
      dataDir: options.dataDir,
      logger: new Logger(label),
      deps: connectorDeps,
      secrets: collectSecretValues(options.settings),
      implicit: options.implicit === true,
    };
    const backend: B =
      builder.kind === 'class'
        ? new builder.cls(options.settings, context)
        : await builder.factory.useFactory(...factoryArgs, context);
    const lacking = this.spec.operations.filter(
      (operation) => typeof (backend as Record<string, unknown> | undefined)?.[operation] !== 'function',
    );
    if (lacking.length)
      throw new SreConfigError([
        `${label}: a ${this.subsystem} connector implements ${this.subsystem}Backend; it lacks ${lacking.join(', ')}`,
      ]);
    const service = new this.service(backend, context, serviceDeps);
    const lifecycle = service as unknown as SreService<B>;
    host.track({
      subsystem: this.subsystem,
      instance: options.instance,
      connector: options.connectorName,
      ref: lifecycle,
    });
    if (!options.lazyConnect) {
      try {
        await withRetry(() => lifecycle.connect(), options.retry, context.logger, 'connect');
      } catch (error) {
        // Nest runs no shutdown hook after a failed boot: release what a half-open connect holds
        await lifecycle.disconnect().catch(() => undefined);
        throw error;
      }
    }
    return service;
  }

  /**
   * The dynamic module of one instance; `connectorInject` are the providers of a static factory
   * connector, `origin` what declared it (`StorageModule.forRoot()`), named when another module
   * provides the same instance.
   */
  build(
    moduleClass: Type<unknown>,
    statics: SubsystemModuleStaticOptions,
    optionProviders: Provider[],
    imports: ModuleMetadata['imports'] = [],
    connectorInject: InjectionToken[] = [],
    connectorNames?: string[],
    origin = `${moduleClass.name}.forRoot()`,
  ): DynamicModule {
    const instance = statics.name ?? 'default';
    const primary: InjectionToken = statics.name ? this.token(statics.name) : this.service;
    // the service's own dependencies, then those of the connectors that may be chosen (optional
    // here: only the chosen connector's are required, and start() says which one is missing)
    const deps = new Map<string, Dependency>(Object.entries((this.spec.uses ?? {}) as Record<string, Dependency>));
    const candidates = connectorNames
      ? connectorNames.map((name) => this.registry.entry(name)).filter((entry) => entry !== undefined)
      : undefined;
    const connectorDeps = candidates
      ? new Map(candidates.flatMap((entry) => Object.entries(entry.uses ?? {})))
      : this.registry.dependencies();
    for (const [key, dep] of connectorDeps) if (!deps.has(key)) deps.set(key, dep);
    const keys = [...deps.keys()];
    const picked = (statics.uses ?? {}) as Record<string, string | undefined>;
    const inject: (InjectionToken | OptionalFactoryDependency)[] = [
      this.optionsToken(instance),
      SreLifecycleHost,
      ...keys.map((key) => ({ token: deps.get(key)!.token(picked[key] ?? 'default'), optional: true })),
      ...connectorInject,
    ];
    const aliasNames = [...(statics.name ? [] : ['default']), ...(statics.aliases ?? [])];
    const provider: Provider = {
      provide: primary,
      inject,
      useFactory: (options: ResolvedOptions, host: SreLifecycleHost, ...rest: unknown[]) => {
        // two modules providing one token globally: Nest would inject one and run both
        host.claim(
          this.subsystem,
          statics.name ? [statics.name, ...aliasNames] : aliasNames,
          origin,
          this.service.name,
        );
        return this.start(options, host, new Map(keys.map((key, i) => [key, rest[i]])), rest.slice(keys.length));
      },
    };
    const aliases: Provider[] = aliasNames.map((alias) => ({ provide: this.token(alias), useExisting: primary }));
    return {
      module: moduleClass,
      global: statics.isGlobal === true,
      imports: [SreCoreModule, ...imports],
      providers: [...optionProviders, provider, ...aliases],
      exports: [primary, ...aliasNames.map((alias) => this.token(alias)), this.optionsToken(instance)],
    };
  }

  forRoot(
    moduleClass: Type<unknown>,
    options: SubsystemModuleOptions<B, any>,
    origin = `${moduleClass.name}.forRoot()`,
  ): DynamicModule {
    const { name, isGlobal, aliases, uses, ...connectorOptions } = options ?? ({} as SubsystemModuleOptions<B>);
    const instance = name ?? 'default';
    const connector = (connectorOptions as { connector?: unknown }).connector;
    const inject = isFactory(connector) ? (connector.inject ?? []) : [];
    return this.build(
      moduleClass,
      { name, isGlobal, aliases, uses },
      [
        {
          provide: this.optionsToken(instance),
          useFactory: () => this.resolve(connectorOptions, instance, { staticInject: true }),
        },
      ],
      [],
      inject,
      typeof connector === 'string' ? [connector] : [],
      origin,
    );
  }

  forRootAsync(
    moduleClass: Type<unknown>,
    options: SubsystemModuleAsyncOptions<B, any>,
    origin = `${moduleClass.name}.forRootAsync()`,
  ): DynamicModule {
    const instance = options?.name ?? 'default';
    const statics = {
      name: options?.name,
      isGlobal: options?.isGlobal,
      aliases: options?.aliases,
      uses: options?.uses,
    };
    const token = this.optionsToken(instance);
    const resolve = async (produced: unknown) => this.resolve(await produced, instance);
    let providers: Provider[];
    if (options?.useFactory) {
      const factory = options.useFactory;
      providers = [
        { provide: token, inject: options.inject ?? [], useFactory: (...args: unknown[]) => resolve(factory(...args)) },
      ];
    } else if (options?.useClass || options?.useExisting) {
      const factoryToken = options.useClass ? `${token}:factory` : options.useExisting!;
      providers = [
        ...(options.useClass ? [{ provide: factoryToken, useClass: options.useClass }] : []),
        {
          provide: token,
          inject: [factoryToken],
          useFactory: (f: ConnectorOptionsFactory<B>) => resolve(f.createConnectorOptions()),
        },
      ];
    } else {
      throw new SreConfigError([
        `${this.subsystem}Module.forRootAsync() needs one of useFactory, useClass or useExisting`,
      ]);
    }
    return this.build(moduleClass, statics, providers, options.imports, [], undefined, origin);
  }
}

/** The static face of every generated `XModule` class. */
export interface SubsystemModuleClass<B extends SreBackend, M, U extends string> {
  new (): object;
  forRoot(options: SubsystemModuleOptions<B, M, U>): DynamicModule;
  forRootAsync(options: SubsystemModuleAsyncOptions<B, M, U>): DynamicModule;
}

/**
 * One declaration per subsystem: the registry, tokens, `InjectX` decorator and the base class of its
 * module (`export class StorageModule extends STORAGE.Module {}`), typed by the map `M` of connector
 * names to settings classes.
 */
export function defineSubsystem<
  S,
  B extends SreBackend,
  D extends object,
  C extends Readonly<Record<string, ConnectorEntry<any, any>>>,
>(spec: SubsystemSpec<S, B, D> & { readonly connectors: C }) {
  type M = SettingsMap<C>;
  const subsystem = new Subsystem<S, B, D>(spec);
  type U = Extract<keyof D, string>;
  class GeneratedModule {
    static forRoot(this: Type<unknown>, options: SubsystemModuleOptions<B, M, U>): DynamicModule {
      return subsystem.forRoot(this, options);
    }

    static forRootAsync(this: Type<unknown>, options: SubsystemModuleAsyncOptions<B, M, U>): DynamicModule {
      return subsystem.forRootAsync(this, options);
    }
  }
  return Object.assign(subsystem, { Module: GeneratedModule as SubsystemModuleClass<B, M, U> });
}

/** Connector names to settings types, read off a subsystem's registry entries. */
export type SettingsMap<C> = { [K in keyof C]: C[K] extends ConnectorEntry<any, infer X> ? X : never };

/** What `defineSubsystem` returns. */
export type SubsystemDefinition<S = any, B extends SreBackend = any, M = any, U extends string = string> = Subsystem<
  S,
  B,
  any
> & { Module: SubsystemModuleClass<B, M, U> };

/** Checks one instance's options against a subsystem, returning every problem (SreModule reports them together). */
export function checkConnectorOptions(
  def: Subsystem<any, any, any>,
  raw: unknown,
  instance = 'default',
): { resolved?: ResolvedOptions; problems: string[] } {
  return def.check(raw, instance);
}

export function resolveConnectorOptions(
  def: Subsystem<any, any, any>,
  raw: unknown,
  instance = 'default',
): ResolvedOptions {
  return def.resolve(raw, instance);
}
