import 'reflect-metadata';
import { Injectable, Logger, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { backendOf } from '../testing/subsystem-module.testkit';
import { ConnectorContext, labelOf, SreBackend } from './backend';
import { defineSharedConnection } from './connection';
import { SreConfigError } from './errors';
import { SreHealthService } from './health.service';
import { SreLifecycleHost } from './lifecycle';
import { connector } from './registry';
import { SecretSetting } from './secrets';
import { SreService } from './service';
import { defineSubsystem } from './subsystem';

const SECRET = 'pool-password-9f8e7d6c-DO-NOT-PRINT';
const events: string[] = [];

class PoolSettings {
  @IsOptional()
  @IsString()
  url = 'pool://localhost';

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64)
  size = 4;

  @IsOptional()
  @IsString()
  @SecretSetting()
  password?: string;
}

/** A client several connectors share: the one thing the application opens once. */
class PoolClient {
  static created: PoolClient[] = [];
  closes = 0;
  pingError?: string;
  closeError?: string;

  constructor(readonly settings: PoolSettings) {
    PoolClient.created.push(this);
  }
}

const POOL = defineSharedConnection<PoolClient, PoolSettings>({
  name: 'Pool',
  settingsClass: PoolSettings,
  create: async (settings) => new PoolClient(settings),
  close: async (client) => {
    client.closes++;
    events.push('close:pool');
    if (client.closeError) throw new Error(client.closeError);
  },
  ping: async (client) => {
    if (client.pingError) throw new Error(client.pingError);
  },
});

// ---- two subsystems whose connectors use the pool, like Cache `Redis` and NKV `Redis` ----

interface KvBackend extends SreBackend {
  get(key: string): string;
}

class KvService extends SreService<KvBackend> {}
class QueueService extends SreService<KvBackend> {}

class PooledConnector implements KvBackend {
  constructor(
    _settings: object,
    readonly ctx: ConnectorContext<{ pool?: PoolClient }>,
  ) {}

  get pool(): PoolClient | undefined {
    return this.ctx.deps.pool;
  }

  get(key: string): string {
    return `${this.pool?.settings.url ?? 'own client'}/${key}`;
  }

  async disconnect(): Promise<void> {
    events.push(`disconnect:${labelOf(this.ctx)}`);
  }
}

const KV = defineSubsystem({
  subsystem: 'Kv',
  service: KvService,
  operations: ['get'],
  connectors: {
    Pooled: connector(() => PooledConnector, { uses: { pool: POOL.dependency() } }),
    // falls back to a client of its own when the application provides no pool
    MaybePooled: connector(() => PooledConnector, { uses: { pool: POOL.dependency(true) } }),
  },
});

@Module({})
class KvModule extends KV.Module {}

const QUEUE = defineSubsystem({
  subsystem: 'Queue',
  service: QueueService,
  operations: ['get'],
  connectors: { Pooled: connector(() => PooledConnector, { uses: { pool: POOL.dependency() } }) },
});

@Module({})
class QueueModule extends QUEUE.Module {}

@Injectable()
class PoolConfig {
  readonly url = 'pool://from-config';
}

@Module({ providers: [PoolConfig], exports: [PoolConfig] })
class PoolConfigModule {}

// ---- helpers ----

const open: TestingModule[] = [];

async function boot(...imports: unknown[]): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: imports as never[] }).compile();
  open.push(moduleRef);
  return moduleRef;
}

async function bootError(...imports: unknown[]): Promise<Error> {
  const error = await boot(...imports).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('expected the module to fail to compile');
  return error;
}

async function closeNow(moduleRef: TestingModule): Promise<void> {
  open.splice(open.indexOf(moduleRef), 1);
  await moduleRef.close();
}

function poolOf(service: unknown): PoolClient | undefined {
  return backendOf<PooledConnector>(service).pool;
}

let errorLog: jest.SpyInstance;

beforeEach(() => {
  events.length = 0;
  PoolClient.created = [];
  errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(async () => {
  while (open.length) await open.pop()!.close();
  jest.restoreAllMocks();
});

describe('defineSharedConnection', () => {
  it('names its token and describes itself as a dependency', () => {
    expect(POOL.name).toBe('Pool');
    expect(POOL.token()).toBe('SreConnection:Pool:default');
    expect(POOL.token('b')).toBe('SreConnection:Pool:b');
    const dependency = POOL.dependency();
    expect(dependency).toMatchObject({
      what: 'a shared Pool connection',
      hint: 'provide one with PoolConnection.forRoot({ settings }) (nestjs-sre)',
      optional: false,
    });
    expect(dependency.token('b')).toBe(POOL.token('b'));
    expect(POOL.dependency(true).optional).toBe(true);
  });

  it('provides one connection, created once, that every consumer gets', async () => {
    const moduleRef = await boot(
      POOL.forRoot({ settings: { url: 'pool://shared', password: SECRET } }),
      KvModule.forRoot({ connector: 'Pooled' }),
      KvModule.forRoot({ name: 'b', connector: 'Pooled' }),
      QueueModule.forRoot({ connector: 'Pooled' }),
    );
    expect(PoolClient.created).toHaveLength(1);
    const [client] = PoolClient.created;
    expect(client.settings).toBeInstanceOf(PoolSettings);
    expect(client.settings).toMatchObject({ url: 'pool://shared', size: 4 });
    expect(moduleRef.get(POOL.token())).toBe(client);
    expect(poolOf(moduleRef.get(KvService))).toBe(client);
    expect(poolOf(moduleRef.get(KV.token('b')))).toBe(client);
    expect(poolOf(moduleRef.get(QueueService))).toBe(client);
    expect(moduleRef.get(KvService).state).toBe('ready');
  });

  it('takes its settings from forRootAsync with inject and imports', async () => {
    const moduleRef = await boot(
      POOL.forRootAsync({
        imports: [PoolConfigModule],
        inject: [PoolConfig],
        useFactory: async (config: PoolConfig) => ({ url: config.url, size: 8 }),
      }),
      KvModule.forRoot({ connector: 'Pooled' }),
    );
    expect(PoolClient.created.map((client) => client.settings)).toMatchObject([{ url: 'pool://from-config', size: 8 }]);
    expect(moduleRef.get(KvService).connectorName).toBe('Pooled');
  });

  it('validates its settings with field-named errors, never the values', async () => {
    const error = await bootError(POOL.forRoot({ settings: { size: 0, url: 7, token: SECRET } as never }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual(
      expect.arrayContaining([
        'PoolConnection.settings.size: must not be less than 1',
        'PoolConnection.settings.url: must be a string',
        'PoolConnection.settings.token: unknown setting',
      ]),
    );
    expect(error.message).not.toContain(SECRET);
    const named = await bootError(POOL.forRoot({ name: 'b', settings: { size: 100 } }));
    expect((named as SreConfigError).problems).toEqual([
      'PoolConnection[b].settings.size: must not be greater than 64',
    ]);
    const async = await bootError(POOL.forRootAsync({ useFactory: () => ({ password: 42 }) as never }));
    expect((async as SreConfigError).problems).toEqual(['PoolConnection.settings.password: must be a string']);
    expect(PoolClient.created).toHaveLength(0);
  });

  it('fails the boot of a connector that needs it when the application provides none', async () => {
    const error = await bootError(KvModule.forRoot({ connector: 'Pooled' }));
    expect(error.message).toBe(
      'Invalid SRE configuration: Kv(Pooled): needs a shared Pool connection, which this application does not provide: provide one with PoolConnection.forRoot({ settings }) (nestjs-sre)',
    );
    // not global: the consumer's module cannot see it
    const hidden = await bootError(POOL.forRoot({ isGlobal: false }), KvModule.forRoot({ connector: 'Pooled' }));
    expect(hidden.message).toContain('Kv(Pooled): needs a shared Pool connection');
  });

  it('leaves an optional connection undefined when none is provided, and hands it over when one is', async () => {
    const alone = await boot(KvModule.forRoot({ connector: 'MaybePooled' }));
    expect(poolOf(alone.get(KvService))).toBeUndefined();
    expect(alone.get(KvService).state).toBe('ready');
    const pooled = await boot(POOL.forRoot(), KvModule.forRoot({ connector: 'MaybePooled' }));
    expect(poolOf(pooled.get(KvService))).toBe(pooled.get(POOL.token()));
  });

  it("lets a module's `uses` pick a named connection", async () => {
    const moduleRef = await boot(
      POOL.forRoot({ settings: { url: 'pool://main' } }),
      POOL.forRoot({ name: 'b', settings: { url: 'pool://b' } }),
      // `uses` is typed by the service's dependencies; connector dependencies are picked the same way
      KvModule.forRoot({ connector: 'Pooled', uses: { pool: 'b' } } as never),
    );
    expect(PoolClient.created).toHaveLength(2);
    expect(poolOf(moduleRef.get(KvService))?.settings.url).toBe('pool://b');
  });

  it('is closed once, after the connectors that use it, when the application closes', async () => {
    const moduleRef = await boot(
      POOL.forRoot(),
      KvModule.forRoot({ connector: 'Pooled' }),
      QueueModule.forRoot({ connector: 'Pooled' }),
    );
    const host = moduleRef.get(SreLifecycleHost);
    expect(host.list().map((entry) => `${entry.subsystem}(${entry.connector})`)).toEqual([
      'PoolConnection(Pool)',
      'Kv(Pooled)',
      'Queue(Pooled)',
    ]);
    await closeNow(moduleRef);
    await host.onApplicationShutdown();
    expect(events).toEqual(['disconnect:Queue(Pooled)', 'disconnect:Kv(Pooled)', 'close:pool']);
    expect(PoolClient.created[0].closes).toBe(1);
    expect(host.list().map((entry) => entry.ref.state)).toEqual(['closed', 'closed', 'closed']);
    expect(errorLog).not.toHaveBeenCalled();
  });

  it('logs a failing close with its secrets scrubbed, and still counts as closed', async () => {
    const moduleRef = await boot(POOL.forRoot({ settings: { password: SECRET } }));
    const host = moduleRef.get(SreLifecycleHost);
    PoolClient.created[0].closeError = `QUIT refused for pool://:${SECRET}@localhost`;
    await closeNow(moduleRef);
    expect(errorLog).toHaveBeenCalledTimes(1);
    const [message] = errorLog.mock.calls[0];
    expect(message).toBe('PoolConnection(Pool): Pool connection: close failed: QUIT refused for pool://:***@localhost');
    expect(host.list()[0].ref.state).toBe('closed');
  });

  it('is pinged by SreHealthService under its own key, failures scrubbed', async () => {
    const moduleRef = await boot(
      POOL.forRoot({ settings: { password: SECRET } }),
      POOL.forRoot({ name: 'b' }),
      KvModule.forRoot({ connector: 'Pooled' }),
    );
    const health = moduleRef.get(SreHealthService);
    const [main, b] = PoolClient.created;
    expect(await health.check()).toEqual([
      expect.objectContaining({ subsystem: 'PoolConnection', instance: 'default', connector: 'Pool', status: 'up' }),
      expect.objectContaining({ subsystem: 'PoolConnection', instance: 'b', connector: 'Pool', status: 'up' }),
      expect.objectContaining({ subsystem: 'Kv', instance: 'default', connector: 'Pooled', status: 'up' }),
    ]);
    main.pingError = `NOAUTH ${SECRET}`;
    b.pingError = 'ECONNREFUSED';
    const report = await health.check();
    expect(report.map((entry) => [entry.instance, entry.status, entry.error])).toEqual([
      ['default', 'down', 'Pool connection: NOAUTH ***'],
      ['b', 'down', 'Pool connection: ECONNREFUSED'],
      ['default', 'up', undefined],
    ]);
    expect(JSON.stringify(report)).not.toContain(SECRET);
  });
});
