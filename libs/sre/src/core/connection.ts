import {
  DynamicModule,
  InjectionToken,
  Logger,
  Module,
  ModuleMetadata,
  OptionalFactoryDependency,
} from '@nestjs/common';
import { SreCoreModule } from './core.module';
import { SreBackendError, SreConfigError } from './errors';
import { SreLifecycleHost } from './lifecycle';
import type { Dependency } from './registry';
import { collectSecretValues, redactSecrets } from './secrets';
import type { ConnectorState, SreLifecycle } from './service';
import { validateSettings } from './settings';

/** How one kind of shared connection (a Redis client, an AWS client configuration) is made. */
export interface SharedConnectionSpec<T, S extends object> {
  /** `Redis`, `AwsClient`: the token prefix and the label in logs and health checks. */
  readonly name: string;
  /** class-validator class of the settings; validated like a connector's. */
  readonly settingsClass?: new () => S;
  readonly create: (settings: S, logger: Logger) => T | Promise<T>;
  readonly close?: (connection: T) => Promise<void> | void;
  readonly ping?: (connection: T) => Promise<void> | void;
}

export interface SharedConnectionOptions<S> {
  /** Named connection (`getToken(name)`); `default` when omitted. */
  name?: string;
  settings?: Partial<S>;
  isGlobal?: boolean;
}

export interface SharedConnectionAsyncOptions<S> extends Pick<ModuleMetadata, 'imports'> {
  name?: string;
  isGlobal?: boolean;
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: any[]) => Partial<S> | Promise<Partial<S>>;
}

@Module({})
export class SreSharedConnectionModule {}

/** Tracks a shared connection with the lifecycle host: closed after the connectors that use it. */
class ConnectionLifecycle<T> implements SreLifecycle {
  state: ConnectorState = 'ready';

  constructor(
    private readonly spec: SharedConnectionSpec<T, any>,
    private readonly connection: T,
    private readonly secrets: readonly string[],
  ) {}

  async connect(): Promise<void> {}

  drain(): void {
    if (this.state !== 'closed') this.state = 'draining';
  }

  private closing?: Promise<void>;

  disconnect(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.spec.close?.(this.connection);
      } catch (error) {
        // client errors echo URLs and credentials: scrubbed like ping's
        throw new SreBackendError(
          `${this.spec.name} connection: close failed: ${redactSecrets(String((error as Error)?.message ?? error), this.secrets)}`,
        );
      } finally {
        this.state = 'closed';
      }
    })();
    return this.closing;
  }

  async ping(): Promise<void> {
    try {
      await this.spec.ping?.(this.connection);
    } catch (error) {
      throw new SreBackendError(
        `${this.spec.name} connection: ${redactSecrets(String((error as Error)?.message ?? error), this.secrets)}`,
      );
    }
  }
}

/**
 * One connection shared by several connectors, as a Nest provider: one ioredis client for Cache
 * `Redis` and NKV `Redis`, one AWS client configuration for every AWS connector. A connector
 * declares `uses: { redis: REDIS_CONNECTION.dependency() }` in its registry entry and finds the
 * client in `context.deps.redis`; the application provides it once with `forRoot(settings)`.
 * Created before its users, it is closed after them (the lifecycle host closes in reverse order).
 */
export function defineSharedConnection<T, S extends object>(spec: SharedConnectionSpec<T, S>) {
  const token = (name = 'default'): string => `SreConnection:${spec.name}:${name}`;
  const start = async (raw: unknown, name: string, host: SreLifecycleHost): Promise<T> => {
    const checked = validateSettings(
      spec.settingsClass,
      raw,
      `${spec.name}Connection${name === 'default' ? '' : `[${name}]`}.settings`,
    );
    if (checked.problems.length) throw new SreConfigError(checked.problems);
    const connection = await spec.create(checked.settings as S, new Logger(`${spec.name}Connection`));
    host.track({
      // its own health key (`RedisConnection`), apart from the subsystems that use it
      subsystem: `${spec.name}Connection`,
      instance: name,
      connector: spec.name,
      ref: new ConnectionLifecycle(spec, connection, collectSecretValues(checked.settings)),
    });
    return connection;
  };
  const module = (
    name: string,
    isGlobal: boolean | undefined,
    provider: object,
    imports: ModuleMetadata['imports'] = [],
  ): DynamicModule => ({
    module: SreSharedConnectionModule,
    global: isGlobal !== false,
    imports: [SreCoreModule, ...imports],
    providers: [{ provide: token(name), ...provider } as never],
    exports: [token(name)],
  });
  return {
    name: spec.name,
    token,
    /**
     * Validates `settings`, creates the connection and tracks it with the lifecycle host (closed
     * after the connectors that use it): for a provider that derives the settings at runtime.
     */
    open(settings: Partial<S>, name: string, host: SreLifecycleHost): Promise<T> {
      return start(settings, name, host);
    },
    /** This connection as what a connector `uses`. */
    dependency(optional = false): Dependency<T> {
      return {
        what: `a shared ${spec.name} connection`,
        hint: `provide one with ${spec.name}Connection.forRoot({ settings }) (nestjs-sre)`,
        token,
        optional,
      };
    },
    /** Provides the connection (global unless `isGlobal: false`). */
    forRoot(options: SharedConnectionOptions<S> = {}): DynamicModule {
      const name = options.name ?? 'default';
      return module(name, options.isGlobal, {
        inject: [SreLifecycleHost],
        useFactory: (host: SreLifecycleHost) => start(options.settings ?? {}, name, host),
      });
    },
    forRootAsync(options: SharedConnectionAsyncOptions<S>): DynamicModule {
      const name = options.name ?? 'default';
      return module(
        name,
        options.isGlobal,
        {
          inject: [SreLifecycleHost, ...(options.inject ?? [])],
          useFactory: async (host: SreLifecycleHost, ...args: unknown[]) =>
            start(await options.useFactory(...args), name, host),
        },
        options.imports,
      );
    },
  };
}

export type SharedConnection<T, S extends object> = ReturnType<typeof defineSharedConnection<T, S>>;
