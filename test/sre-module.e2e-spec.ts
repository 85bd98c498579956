import { Controller, Get, INestApplication, Injectable, Module, Param, Put } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import * as sre from 'nestjs-sre';
import {
  AccessCandidate,
  AccountModule,
  CacheModule,
  CacheService,
  RouterModule,
  SreCacheModule,
  SreConfigFactory,
  SreRouterModule,
  SreStorageModule,
  getStorageToken,
  InjectStorage,
  LLMService,
  SreConfigError,
  SreLifecycleHost,
  SreModule,
  StorageService,
  VaultService,
  VectorDBService,
} from 'nestjs-sre';
import { AppModule } from '../src/app.module';
import { setupApp } from '../src/setup-app';

/** SreModule wired into real Nest applications, in-process. */
describe('SreModule (e2e)', () => {
  let dataDir: string;
  let app: INestApplication | undefined;
  const savedEnv = { ...process.env };

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-module-'));
    process.env.SRE_DATA_DIR = dataDir;
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    process.env = { ...savedEnv };
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('overrideProvider(StorageService) replaces the connector: no folder is created, no file touched', async () => {
    const written: string[] = [];
    const fake = {
      requester: () => ({
        write: async (id: string) => void written.push(id),
        stat: async () => undefined,
        readStream: async () => undefined,
        readStreamWithStat: async () => undefined,
        delete: async () => undefined,
      }),
    };
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(StorageService)
      .useValue(fake)
      .compile();
    app = setupApp(moduleRef.createNestApplication({ bodyParser: false }));
    await app.init();
    await request(app.getHttpServer())
      .put('/files/report.txt')
      .set('content-type', 'text/plain')
      .send('data')
      .expect(201);
    expect(written).toEqual(['report.txt']);
    await request(app.getHttpServer()).get('/files/report.txt').expect(404);
    expect(fs.existsSync(path.join(dataDir, 'storage'))).toBe(false);
    // the overridden token is gone from the lifecycle host: nothing was connected for it
    expect(
      app
        .get(SreLifecycleHost)
        .list()
        .map((entry) => entry.subsystem),
    ).not.toContain('Storage');
  });

  it("streams uploads only without Nest's body parser (docs/storage.md): with it, a JSON body arrives empty", async () => {
    const body = JSON.stringify({ report: 'q1', total: 42 });
    const sizes: Record<string, number | undefined> = {};
    for (const bodyParser of [false, true]) {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const server = setupApp(moduleRef.createNestApplication({ bodyParser }));
      await server.init();
      await request(server.getHttpServer())
        .put(`/files/parsed-${bodyParser}.json`)
        .set('content-type', 'application/json')
        .send(body)
        .expect(201);
      const stat = await moduleRef.get(StorageService).team('default').stat(`parsed-${bodyParser}.json`);
      sizes[String(bodyParser)] = stat?.size;
      await server.close();
    }
    expect(sizes).toEqual({ false: Buffer.byteLength(body), true: 0 });
  });

  it('a bad config fails compile() with one error listing every problem, without secret values', async () => {
    const secret = 'sk-very-secret-value-123';
    const attempt = Test.createTestingModule({
      imports: [
        SreModule.forRoot({
          Storage: { Connector: 'LocalStorage', Settings: { folder: 42 as unknown as string, nope: secret } },
          Cache: { Connector: 'Memcached' },
          Vault: { Connector: 'JSONFileVault', Settings: { file: 7 as unknown as string } },
          Storge: { Connector: 'LocalStorage' },
        } as never),
      ],
    }).compile();
    const error: SreConfigError = await attempt.then(
      () => {
        throw new Error('compile() should have failed');
      },
      (e: SreConfigError) => e,
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Storge: unknown subsystem/),
        expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.folder: must be a string/),
        expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.nope: unknown setting/),
        expect.stringMatching(
          /^Cache: unknown connector 'Memcached' \(valid connectors: RAM, Redis, LocalStorage, S3\)/,
        ),
        expect.stringMatching(/^Vault\(JSONFileVault\)\.settings\.file: must be a string/),
      ]),
    );
    expect(error.message).not.toContain(secret);
  });

  it('asking for a connector that is not available yet fails with a clear error', async () => {
    await expect(
      Test.createTestingModule({
        imports: [SreModule.forRoot({ Vault: { Connector: 'HashicorpVault', Settings: {} } })],
      }).compile(),
    ).rejects.toThrow(/Vault: connector 'HashicorpVault' is not available in this version of nestjs-sre/);
  });

  it('app.close() disconnects every connector exactly once, in reverse creation order', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SreModule.forRoot()] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    const host = app.get(SreLifecycleHost);
    const calls: string[] = [];
    for (const entry of host.list()) {
      const original = entry.ref.disconnect.bind(entry.ref);
      entry.ref.disconnect = () => {
        calls.push(entry.subsystem);
        return original();
      };
    }
    const created = host.list().map((entry) => entry.subsystem);
    expect(created).toEqual(expect.arrayContaining(['Vault', 'Account', 'Cache', 'Storage', 'Log']));
    await app.close();
    app = undefined;
    expect(calls).toEqual([...created].reverse());
    expect(host.list().every((entry) => entry.ref.state === 'closed')).toBe(true);
  });

  it('subsystems without a default connector are stand-ins that throw a clear error', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SreModule.forRoot()] }).compile();
    const llm = moduleRef.get(LLMService) as unknown as { requester: () => unknown };
    expect(() => llm.requester()).toThrow(/LLM is not available: not configured/);
    expect(moduleRef.get(VectorDBService).team('acme')).toBeDefined();
    await moduleRef.close();
  });

  it('named instances from a list of entries are injectable by name, with the default on the service class', async () => {
    const archiveDir = path.join(dataDir, 'archive');
    @Injectable()
    class Consumer {
      constructor(
        readonly main: StorageService,
        @InjectStorage('archive') readonly archive: StorageService,
      ) {}
    }
    @Module({ providers: [Consumer] })
    class ConsumerModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreModule.forRoot({
          Storage: [
            { Connector: 'LocalStorage', Id: 'main' },
            { Connector: 'LocalStorage', Id: 'archive', Settings: { folder: archiveDir } },
          ],
        }),
        ConsumerModule,
      ],
    }).compile();
    const consumer = moduleRef.get(Consumer);
    expect(consumer.main).not.toBe(consumer.archive);
    expect(moduleRef.get(getStorageToken('main'))).toBe(consumer.main);
    await consumer.archive.requester(AccessCandidate.team('acme')).write('a.txt', 'archived');
    expect(fs.readFileSync(path.join(archiveDir, 'local', 'a.txt'), 'utf8')).toBe('archived');
    await moduleRef.close();
  });

  it('forRootAsync takes the config from @nestjs/config', async () => {
    const folder = path.join(dataDir, 'from-config');
    const sreConfig = registerAs('sre', () => ({ Storage: { Connector: 'LocalStorage', Settings: { folder } } }));
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [sreConfig] }),
        SreModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.get('sre'),
        }),
      ],
    }).compile();
    await moduleRef.get(StorageService).requester(AccessCandidate.team('acme')).write('x.txt', 'x');
    expect(fs.existsSync(path.join(folder, 'local', 'x.txt'))).toBe(true);
    expect(moduleRef.get(CacheService)).toBeDefined();
    await moduleRef.close();
  });

  it('SRE_CONFIG names a JSON file whose ${VAR} references are filled from the environment', async () => {
    const folder = path.join(dataDir, 'env-folder');
    const file = path.join(dataDir, 'sre.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ Storage: { Connector: 'LocalStorage', Settings: { folder: '${MY_STORAGE_DIR}' } } }),
    );
    process.env.SRE_CONFIG = file;
    process.env.MY_STORAGE_DIR = folder;
    const moduleRef = await Test.createTestingModule({ imports: [SreModule.forRoot()] }).compile();
    await moduleRef.get(StorageService).requester(AccessCandidate.team('acme')).write('y.txt', 'y');
    expect(fs.existsSync(path.join(folder, 'local', 'y.txt'))).toBe(true);
    expect(moduleRef.get(VaultService)).toBeDefined();
    await moduleRef.close();
  });

  it('a ${VAR} used as the connector name fails boot without printing its value', async () => {
    process.env.SECRET_VAR = 'hunter2token';
    process.env.SRE_CONFIG_JSON = JSON.stringify({ Cache: { Connector: '${SECRET_VAR}' } });
    const error: Error = await Test.createTestingModule({ imports: [SreModule.forRoot()] })
      .compile()
      .then(
        () => {
          throw new Error('compile() should have failed');
        },
        (e: Error) => e,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      'Invalid SRE configuration: Cache: unknown connector (the name comes from an environment variable and is not repeated; valid connectors: RAM, Redis, LocalStorage, S3)',
    );
    expect(`${error.message}\n${error.stack}`).not.toContain('hunter2token');
  });

  describe('HTTP errors with no setup', () => {
    @Controller('probe')
    class ProbeController {
      constructor(private readonly storage: StorageService) {}

      @Put(':team/:name')
      async write(@Param('team') team: string, @Param('name') name: string): Promise<void> {
        await this.storage.requester(AccessCandidate.team(team)).write(name, 'x');
      }

      @Get(':team/:name')
      async read(@Param('team') team: string, @Param('name') name: string): Promise<string> {
        return String(await this.storage.requester(AccessCandidate.team(team)).read(name));
      }
    }

    async function start(options?: { exceptionFilter?: boolean }): Promise<INestApplication> {
      @Module({ imports: [SreModule.forRoot(undefined, options)], controllers: [ProbeController] })
      class ProbeApp {}
      const moduleRef = await Test.createTestingModule({ imports: [ProbeApp] }).compile();
      const started = moduleRef.createNestApplication({ logger: false });
      await started.init();
      return started;
    }

    it("SreModule maps the library's errors to their status in Nest's shape", async () => {
      app = await start();
      const server = app.getHttpServer();
      await request(server).put('/probe/acme/plan.txt').expect(200);
      expect((await request(server).get('/probe/rival/plan.txt').expect(403)).body).toEqual({
        statusCode: 403,
        message: 'Access Denied',
        error: 'Forbidden',
      });
      const traversal = await request(server).get('/probe/acme/..%2F..%2Fetc%2Fpasswd').expect(400);
      expect(traversal.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('SreModule.forRoot(config, { exceptionFilter: false }) leaves the mapping to the application', async () => {
      app = await start({ exceptionFilter: false });
      const server = app.getHttpServer();
      await request(server).put('/probe/acme/plan.txt').expect(200);
      expect((await request(server).get('/probe/rival/plan.txt').expect(500)).body).toEqual({
        statusCode: 500,
        message: 'Internal server error',
      });
    });
  });

  it('exports every subsystem module under a clash-free Sre* name, the same class as the short one', async () => {
    expect(SreCacheModule).toBe(CacheModule);
    expect(SreRouterModule).toBe(RouterModule);
    expect(SreStorageModule).toBe(sre.StorageModule);
    const exported = sre as unknown as Record<string, unknown>;
    for (const name of [
      'Vault',
      'Account',
      'Cache',
      'Storage',
      'Code',
      'NKV',
      'VectorDB',
      'LLM',
      'ModelsProvider',
      'AgentData',
      'Component',
      'ManagedVault',
      'Log',
      'Router',
    ])
      expect([name, exported[`Sre${name}Module`]]).toEqual([name, exported[`${name}Module`]]);
    const moduleRef = await Test.createTestingModule({
      imports: [
        AccountModule.forRoot({ connector: 'DummyAccount', isGlobal: true }),
        SreCacheModule.forRoot({ connector: 'RAM' }),
      ],
    }).compile();
    expect(moduleRef.get(CacheService)).toBeDefined();
    await moduleRef.close();
  });

  it('forRootAsync takes the config from a useClass built with ConfigService', async () => {
    const folder = path.join(dataDir, 'from-class');
    @Injectable()
    class SreConfigService implements SreConfigFactory {
      constructor(private readonly config: ConfigService) {}

      createSreConfig() {
        return { Storage: { Connector: 'LocalStorage' as const, Settings: { folder: this.config.get('FILES') } } };
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ FILES: folder })] }),
        SreModule.forRootAsync({ imports: [ConfigModule], useClass: SreConfigService }),
      ],
    }).compile();
    await moduleRef.get(StorageService).requester(AccessCandidate.team('acme')).write('z.txt', 'z');
    expect(fs.existsSync(path.join(folder, 'local', 'z.txt'))).toBe(true);
    await moduleRef.close();
  });

  it('forRootAsync whose factory returns undefined (a missing config key) fails boot', async () => {
    const attempt = Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [] }),
        SreModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.get('sre'),
        }),
      ],
    }).compile();
    await expect(attempt).rejects.toThrow(
      'SreModule.forRootAsync: the factory returned undefined; return {} to use every default',
    );
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
