import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SreConfigError } from './core/errors';
import { SreLifecycleHost } from './core/lifecycle';
import { SreExceptionFilter } from './core/sre-exception.filter';
import type { ResolvedConnectorOptions } from './core/subsystem';
import { CacheService } from './cache/cache.service';
import { loadSreConfig, SreConfig } from './sre.config';
import { resolveSreConfig, SreConfigFactory, SreModule } from './sre.module';
import { StorageModule } from './storage/storage.module';
import { StorageService } from './storage/storage.service';
import { MemoryStorageBackend } from './testing/backends/memory-storage.backend';
import { SRE_TESTING_DEFAULTS } from './testing/sre-testing.module';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof SreConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected an SreConfigError');
}

describe('resolveSreConfig', () => {
  it('fills the seed defaults for every subsystem left out', () => {
    const resolved = resolveSreConfig({}, { dataDir: '/tmp/sre-data' });
    const storage = resolved.get('Storage') as ResolvedConnectorOptions;
    expect(storage).toMatchObject({
      kind: 'connector',
      connectorName: 'LocalStorage',
      instance: 'default',
      dataDir: '/tmp/sre-data',
    });
    expect(resolved.get('Cache')).toMatchObject({ kind: 'connector', connectorName: 'RAM' });
    expect(resolved.get('Vault')).toMatchObject({ kind: 'connector', connectorName: 'JSONFileVault' });
    expect(resolved.get('Account')).toMatchObject({ kind: 'connector', connectorName: 'DummyAccount' });
    expect(resolved.get('Log')).toMatchObject({ kind: 'connector', connectorName: 'ConsoleLog' });
  });

  it('marks the defaults it filled in as implicit, and configured entries not', () => {
    const defaults = resolveSreConfig({});
    expect((defaults.get('Vault') as ResolvedConnectorOptions).implicit).toBe(true);
    const configured = resolveSreConfig({ Vault: { Connector: 'JSONFileVault' } });
    expect((configured.get('Vault') as ResolvedConnectorOptions).implicit).toBeUndefined();
  });

  it('marks subsystems without a default as unavailable, saying why', () => {
    const resolved = resolveSreConfig({});
    expect(resolved.get('VectorDB')).toMatchObject({ kind: 'connector', connectorName: 'RAMVec', implicit: true });
    expect(resolved.get('Code')).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining('not configured'),
    });
    expect(resolved.get('Storage', 'nope')).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining("no Storage entry with Id 'nope'"),
    });
  });

  it('accepts the seed format with Settings, and validates them', () => {
    const resolved = resolveSreConfig({ Storage: { Connector: 'LocalStorage', Settings: { folder: '/tmp/x' } } });
    expect((resolved.get('Storage') as ResolvedConnectorOptions).settings).toMatchObject({ folder: '/tmp/x' });
  });

  it('reports every problem of every subsystem at once', () => {
    const problems = problemsOf(() =>
      resolveSreConfig({
        Storage: { Connector: 'LocalStorage', Settings: { folder: 1 as unknown as string } },
        Cache: { Connector: 'Nope' },
        Vault: { Connector: 'JSONFileVault', settings: {} } as never,
        Account: {} as never,
        Bogus: { Connector: 'X' },
      } as never),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Bogus: unknown subsystem/),
        expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.folder: /),
        expect.stringMatching(/^Cache: unknown connector 'Nope'/),
        expect.stringMatching(/^Vault: SreModule entries take the seed's PascalCase keys/),
        expect.stringMatching(/^Account\.Connector: is required/),
      ]),
    );
  });

  it('lists of entries: Default picks the primary, others need unique Ids', () => {
    const resolved = resolveSreConfig({
      Storage: [
        { Connector: 'LocalStorage', Id: 'a', Settings: { folder: '/tmp/a' } },
        { Connector: 'LocalStorage', Id: 'b', Default: true, Settings: { folder: '/tmp/b' } },
      ],
    });
    expect((resolved.get('Storage') as ResolvedConnectorOptions).settings).toMatchObject({ folder: '/tmp/b' });
    expect((resolved.get('Storage', 'a') as ResolvedConnectorOptions).settings).toMatchObject({ folder: '/tmp/a' });
    expect(
      problemsOf(() =>
        resolveSreConfig({
          Storage: [
            { Connector: 'LocalStorage', Id: 'a', Default: true },
            { Connector: 'LocalStorage', Id: 'a', Default: true },
            { Connector: 'LocalStorage' },
          ],
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        'Storage: more than one entry has Default: true',
        "Storage[1].Id: 'a' is used twice",
        'Storage[2]: every entry but the default one needs an Id',
      ]),
    );
  });

  it('an async config may only define named instances declared up front', () => {
    const config = { Storage: [{ Connector: 'LocalStorage' }, { Connector: 'LocalStorage', Id: 'late' }] };
    expect(problemsOf(() => resolveSreConfig(config, {}, {}))).toEqual([
      "Storage[1]: named instance 'late' must be declared in SreModule.forRootAsync({ instances: { Storage: ['late'] } })",
    ]);
    expect(resolveSreConfig(config, {}, { Storage: ['late'] }).get('Storage', 'late')).toMatchObject({
      kind: 'connector',
    });
  });

  it('rejects a config that is not an object', () => {
    expect(problemsOf(() => resolveSreConfig([] as never))).toHaveLength(1);
  });

  it('refuses LazyConnect and Default that are not booleans, naming the entry and key', () => {
    expect(
      problemsOf(() => resolveSreConfig({ Storage: { Connector: 'LocalStorage', LazyConnect: 'yes' } } as never)),
    ).toEqual(['Storage.LazyConnect: must be a boolean']);
    expect(
      problemsOf(() =>
        resolveSreConfig({
          Storage: [
            { Connector: 'LocalStorage', Default: 'x' },
            { Connector: 'LocalStorage', Id: 'b', LazyConnect: 1 },
          ],
        } as never),
      ),
    ).toEqual(['Storage[0].Default: must be a boolean', 'Storage[1].LazyConnect: must be a boolean']);
    // reported once, under the seed's name
    expect(
      problemsOf(() =>
        resolveSreConfig({ Cache: { Connector: 'RAM', ConnectRetries: 'many', ConnectRetryDelayMs: -1 } } as never),
      ),
    ).toEqual([
      'Cache.ConnectRetries: must be an integer from 0 to 20',
      'Cache.ConnectRetryDelayMs: must be an integer from 0 to 60000',
    ]);
    const tuned = resolveSreConfig({ Cache: { Connector: 'RAM', LazyConnect: true, ConnectRetries: 0 } });
    expect(tuned.get('Cache')).toMatchObject({ lazyConnect: true, retry: { retries: 0 } });
  });

  it('never repeats a connector name or an Id that came from the environment', () => {
    const env = {
      SRE_CONFIG_JSON: JSON.stringify({
        Cache: { Connector: '${SECRET_VAR}' },
        Storage: [{ Connector: 'LocalStorage' }, { Connector: 'LocalStorage', Id: '${SECRET_ID}' }],
        Log: { Connector: '${LOG_CONNECTOR:-ConsoleLog}' },
      }),
      SECRET_VAR: 'hunter2token',
      SECRET_ID: 'topsecretid',
    };
    const problems = problemsOf(() => resolveSreConfig(loadSreConfig({ env }), {}, {}));
    expect(problems).toEqual([
      'Cache: unknown connector (the name comes from an environment variable and is not repeated; valid connectors: RAM, Redis, LocalStorage, S3)',
      'Storage[1]: a named instance whose Id comes from the environment must be declared in SreModule.forRootAsync({ instances: { Storage: [...] } })',
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2token|topsecretid/);
  });

  it('does not repeat an unknown connector name that does not look like one', () => {
    const pasted = 'AKIA/3xs+secret==';
    const problems = problemsOf(() => resolveSreConfig({ Cache: { Connector: pasted } } as never));
    expect(problems).toEqual([
      'Cache: unknown connector (the name given is not a connector name and is not repeated; valid connectors: RAM, Redis, LocalStorage, S3)',
    ]);
  });

  it("says in one sentence that entries take the seed's PascalCase when given XModule options", () => {
    expect(problemsOf(() => resolveSreConfig({ Cache: { connector: 'RAM' } } as never))).toEqual([
      "Cache: SreModule entries take the seed's PascalCase keys ({ Connector, Settings, Id, Default, LazyConnect, ConnectRetries, ConnectRetryDelayMs }); connector is the camelCase of CacheModule.forRoot()",
    ]);
    expect(
      problemsOf(() =>
        resolveSreConfig({
          Storage: [{ Connector: 'LocalStorage' }, { connector: 'LocalStorage', name: 'b', lazyConnect: true }],
        } as never),
      ),
    ).toEqual([
      "Storage[1]: SreModule entries take the seed's PascalCase keys ({ Connector, Settings, Id, Default, LazyConnect, ConnectRetries, ConnectRetryDelayMs }); connector, name, lazyConnect are the camelCase of StorageModule.forRoot()",
    ]);
  });
});

/** Every subsystem in memory: nothing here touches the disk. */
const HERMETIC: SreConfig = SRE_TESTING_DEFAULTS;

async function compileError(...imports: unknown[]): Promise<Error> {
  return Test.createTestingModule({ imports: imports as never[] })
    .compile()
    .then(
      async (moduleRef) => {
        await moduleRef.close();
        throw new Error('expected compile() to fail');
      },
      (error: Error) => error,
    );
}

@Injectable()
class ConfigFromClass implements SreConfigFactory {
  constructor(@Inject('CACHE_ENTRIES') private readonly entries: number) {}

  createSreConfig(): SreConfig {
    return { ...HERMETIC, Cache: { Connector: 'RAM', Settings: { maxEntries: this.entries } } };
  }
}

@Module({
  providers: [{ provide: 'CACHE_ENTRIES', useValue: 7 }, ConfigFromClass],
  exports: ['CACHE_ENTRIES', ConfigFromClass],
})
class ConfigSourceModule {}

describe('SreModule.forRootAsync', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('fails boot when the factory returns undefined instead of booting on every default', async () => {
    const error = await compileError(SreModule.forRootAsync({ useFactory: () => undefined }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      'Invalid SRE configuration: SreModule.forRootAsync: the factory returned undefined; return {} to use every default',
    );
    const fromClass = await compileError(
      SreModule.forRootAsync({
        useClass: class Empty implements SreConfigFactory {
          createSreConfig() {
            return undefined;
          }
        },
      }),
    );
    expect(fromClass.message).toContain('SreModule.forRootAsync: createSreConfig() returned undefined');
  });

  it('takes the config from useClass, built with its own dependencies', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SreModule.forRootAsync({ imports: [ConfigSourceModule], useClass: ConfigFromClass })],
    }).compile();
    expect(moduleRef.get(CacheService)).toBeDefined();
    expect(
      moduleRef
        .get(SreLifecycleHost)
        .list()
        .find((t) => t.subsystem === 'Storage'),
    ).toMatchObject({
      connector: 'MemoryStorage',
    });
    await moduleRef.close();
  });

  it('takes the config from useExisting', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SreModule.forRootAsync({ imports: [ConfigSourceModule], useExisting: ConfigFromClass })],
    }).compile();
    expect(
      moduleRef
        .get(SreLifecycleHost)
        .list()
        .find((t) => t.subsystem === 'Storage'),
    ).toMatchObject({
      connector: 'MemoryStorage',
    });
    await moduleRef.close();
    @Module({ providers: [{ provide: 'NOT_A_FACTORY', useValue: {} }], exports: ['NOT_A_FACTORY'] })
    class WrongSource {}
    const missing = await compileError(
      SreModule.forRootAsync({ imports: [WrongSource], useExisting: 'NOT_A_FACTORY' }),
    );
    expect(missing.message).toBe(
      'Invalid SRE configuration: SreModule.forRootAsync: the useExisting provider has no createSreConfig() method',
    );
  });

  it('takes exactly one of useFactory, useClass or useExisting', () => {
    expect(() => SreModule.forRootAsync({} as never)).toThrow(
      'SreModule.forRootAsync() needs one of useFactory, useClass or useExisting',
    );
    expect(() => SreModule.forRootAsync({ useFactory: () => ({}), useClass: ConfigFromClass })).toThrow(
      'SreModule.forRootAsync() needs one of useFactory, useClass or useExisting (got useFactory and useClass)',
    );
  });
});

describe('SreModule: one provider per subsystem instance', () => {
  it('fails boot when SreModule is imported twice, naming the subsystem and both imports', async () => {
    const error = await compileError(SreModule.forRoot(HERMETIC), SreModule.forRoot(HERMETIC));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toMatch(
      /: the default \w+ instance \(\w+Service\) is provided twice, by SreModule\.forRoot\(\) and by SreModule\.forRoot\(\); .*\(import SreModule once: its config holds every subsystem\)$/,
    );
  });

  it('fails boot when SreModule and StorageModule both provide StorageService', async () => {
    const error = await compileError(
      SreModule.forRoot(HERMETIC),
      StorageModule.forRoot({ connector: MemoryStorageBackend, isGlobal: true }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toContain('Storage: the default Storage instance (StorageService) is provided twice');
    expect(error.message).toContain('SreModule.forRoot()');
    expect(error.message).toContain('StorageModule.forRoot()');
    expect(error.message).toContain('put this Storage entry in its config, or give the other instance a name');
  });

  it('boots SreModule beside a named StorageModule instance', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SreModule.forRoot(HERMETIC), StorageModule.forRoot({ name: 'extra', connector: MemoryStorageBackend })],
    }).compile();
    expect(moduleRef.get(StorageService)).toBeDefined();
    await moduleRef.close();
  });
});

describe('SreModule: the exception filter', () => {
  const filters = (module: { providers?: unknown[] }) =>
    (module.providers ?? []).filter((p) => (p as { provide?: unknown }).provide === APP_FILTER);

  it('registers SreExceptionFilter as APP_FILTER, unless exceptionFilter: false', () => {
    expect(filters(SreModule.forRoot(HERMETIC))).toEqual([{ provide: APP_FILTER, useClass: SreExceptionFilter }]);
    expect(filters(SreModule.forRootAsync({ useFactory: () => HERMETIC }))).toHaveLength(1);
    expect(filters(SreModule.forRoot(HERMETIC, { exceptionFilter: false }))).toEqual([]);
    expect(filters(SreModule.forRootAsync({ useFactory: () => HERMETIC, exceptionFilter: false }))).toEqual([]);
    expect(() => SreModule.forRoot(HERMETIC, { exceptionFilter: 'no' as never })).toThrow(
      'SreModule.forRoot(): exceptionFilter must be a boolean',
    );
  });
});
