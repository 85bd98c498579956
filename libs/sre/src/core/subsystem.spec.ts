import 'reflect-metadata';
import { Global, Injectable, Logger, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { IsIn, IsInt, IsOptional, IsString, Min } from 'class-validator';
import * as path from 'node:path';
import { ACCOUNT, AccountModule } from '../account/account.module';
import { AccountService } from '../account/account.service';
import { AccessCandidate } from '../security/access-candidate';
import { SecureService } from '../security/secure-service';
import { backendOf } from '../testing/subsystem-module.testkit';
import { ConnectorContext, labelOf, MaybePromise, SreBackend } from './backend';
import { defineSharedConnection } from './connection';
import { SreBackendError, SreConfigError, SreUnavailableError } from './errors';
import { SreHealthService } from './health.service';
import { SreLifecycleHost } from './lifecycle';
import { connector, planned } from './registry';
import { DEFAULT_CONNECT_RETRY } from './retry';
import { SecretSetting } from './secrets';
import { SreService } from './service';
import { checkConnectorOptions, defineSubsystem, ResolvedConnectorOptions } from './subsystem';

/** What the backends did, in order, across every instance of a test. */
const events: string[] = [];
const SECRET = 'sk-live-0a1b2c3d4e5f-DO-NOT-PRINT';

// ---- subsystem "Demo": backend interface, service, settings, connectors, one declaration ----

interface DemoBackend extends SreBackend {
  hello(): MaybePromise<string>;
}

const DEMO_OPERATIONS = ['hello'] as const;

class DemoService extends SreService<DemoBackend> {
  async hello(): Promise<string> {
    return this.call('saying hello', () => this.backend.hello());
  }
}

class DemoSettings {
  @IsOptional()
  @IsString()
  greeting = 'hi';

  @IsOptional()
  @IsInt()
  @Min(0)
  failConnects = 0;

  @IsOptional()
  @IsIn(['ok', 'hang', 'fail'])
  disconnect: 'ok' | 'hang' | 'fail' = 'ok';

  @IsOptional()
  @IsIn(['ok', 'hang', 'fail'])
  ping: 'ok' | 'hang' | 'fail' = 'ok';

  @IsOptional()
  @IsString()
  @SecretSetting()
  apiKey?: string;
}

class RecordingConnector implements DemoBackend {
  static readonly connectorName = 'Recording';
  static readonly settingsClass = DemoSettings;
  static built: RecordingConnector[] = [];
  connectAttempts = 0;
  disconnects = 0;
  pings = 0;

  constructor(
    readonly settings: DemoSettings,
    readonly ctx: ConnectorContext,
  ) {
    RecordingConnector.built.push(this);
  }

  hello(): string {
    return this.settings.greeting;
  }

  async connect(): Promise<void> {
    this.connectAttempts++;
    events.push(`connect:${labelOf(this.ctx)}`);
    if (this.connectAttempts <= this.settings.failConnects)
      throw new Error(`refused (attempt ${this.connectAttempts})`);
  }

  async disconnect(): Promise<void> {
    this.disconnects++;
    events.push(`disconnect:${labelOf(this.ctx)}`);
    if (this.settings.disconnect === 'hang') await new Promise(() => undefined);
    if (this.settings.disconnect === 'fail') throw new Error(`socket gone, key ${this.settings.apiKey ?? ''}`.trim());
  }

  async ping(): Promise<void> {
    this.pings++;
    if (this.settings.ping === 'hang') await new Promise(() => undefined);
    if (this.settings.ping === 'fail') throw new Error(`backend said no to ${this.settings.apiKey ?? 'anonymous'}`);
  }
}

/** A client several connectors share, provided once by the application. */
class WireClient {
  static created = 0;
  closed = false;

  constructor(readonly host: string) {
    WireClient.created++;
  }
}

class WireSettings {
  @IsOptional()
  @IsString()
  host = 'wire.local';
}

const WIRE = defineSharedConnection<WireClient, WireSettings>({
  name: 'Wire',
  settingsClass: WireSettings,
  create: (settings) => new WireClient(settings.host),
  close: (client) => {
    events.push('disconnect:wire');
    client.closed = true;
  },
});

class SharedConnector implements DemoBackend {
  static readonly connectorName = 'Shared';

  constructor(
    _settings: object,
    readonly ctx: ConnectorContext<{ wire: WireClient }>,
  ) {}

  hello(): string {
    return `via ${this.ctx.deps.wire.host}`;
  }

  async disconnect(): Promise<void> {
    events.push(`disconnect:${labelOf(this.ctx)}`);
  }
}

let missingLoads = 0;
let brokenLoads = 0;

const DEMO = defineSubsystem({
  subsystem: 'Demo',
  service: DemoService,
  operations: DEMO_OPERATIONS,
  connectors: {
    Recording: connector<DemoSettings>(() => RecordingConnector),
    Cloud: planned({ sdk: [{ package: 'definitely-not-installed-cloud-sdk', range: '^3' }] }),
    Missing: connector(
      () => {
        missingLoads++;
        return RecordingConnector;
      },
      { sdk: [{ package: 'definitely-not-installed-sdk', range: '^1' }] },
    ),
    // stands for a connector module that loads its SDK at import time: loading it is the failure
    Broken: connector(() => {
      brokenLoads++;
      throw new Error('the Broken connector module was loaded');
    }),
    Shared: connector(() => SharedConnector, { uses: { wire: WIRE.dependency() } }),
  },
});
const getDemoToken = DEMO.token;
const InjectDemo = DEMO.inject;

@Module({})
class DemoModule extends DEMO.Module {}

/** A user's own connector: implements the backend, registered nowhere. */
class CustomDemo implements DemoBackend {
  hello(): string {
    return 'custom';
  }
}

/** Looks like a connector but lacks the operations. */
class Stranger {
  readonly hello = 'not a function';
}

// ---- subsystem "Other": its service requires Demo ----

interface OtherBackend extends SreBackend {
  name(): string;
}

class OtherService extends SreService<OtherBackend> {
  constructor(
    backend: OtherBackend,
    context: ConnectorContext | undefined,
    readonly deps: { demo: DemoService },
  ) {
    super(backend, context);
  }
}

class PlainOther implements OtherBackend {
  static readonly connectorName = 'Plain';
  constructor(
    _settings: object,
    readonly ctx: ConnectorContext,
  ) {}
  name(): string {
    return 'plain';
  }
  async connect(): Promise<void> {
    events.push(`connect:${labelOf(this.ctx)}`);
  }
  async disconnect(): Promise<void> {
    events.push(`disconnect:${labelOf(this.ctx)}`);
  }
}

const OTHER = defineSubsystem({
  subsystem: 'Other',
  service: OtherService,
  operations: ['name'],
  uses: { demo: DEMO.dependency('greetings') },
  connectors: { Plain: connector(() => PlainOther) },
});

@Module({})
class OtherModule extends OTHER.Module {}

// ---- subsystem "Teams": a SecureService that requires Account ----

interface TeamsBackend extends SreBackend {
  noop(): void;
}

class TeamsService extends SecureService<TeamsBackend> {
  get resolver(): unknown {
    return this.teams;
  }

  teamOfCandidate(candidate: AccessCandidate): Promise<string> {
    return this.requireTeam(candidate);
  }
}

class PlainTeams implements TeamsBackend {
  noop(): void {}
}

const TEAMS = defineSubsystem({
  subsystem: 'Teams',
  service: TeamsService,
  operations: ['noop'],
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: { Plain: connector(() => PlainTeams) },
});

@Module({})
class TeamsModule extends TEAMS.Module {}

const accountData = (team: string) => ({ [team]: { users: { alice: {} } } });

// ---- option sources ----

@Injectable()
class DemoOptionsFactory {
  createConnectorOptions() {
    return { connector: 'Recording' as const, settings: { greeting: 'from a class' } };
  }
}

@Module({
  providers: [DemoOptionsFactory, { provide: 'GREETING', useValue: 'from a factory' }],
  exports: [DemoOptionsFactory, 'GREETING'],
})
class OptionsSourceModule {}

/** A provider a factory connector declared in forRoot injects (forRoot takes no imports: it is global). */
@Global()
@Module({ providers: [{ provide: 'GREETER', useValue: { word: 'hey' } }], exports: ['GREETER'] })
class GreeterModule {}

class FactoryBackend implements DemoBackend {
  constructor(
    readonly word: string,
    readonly ctx: ConnectorContext,
  ) {}
  hello(): string {
    return this.word;
  }
}

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

function recording(service: unknown): RecordingConnector {
  return backendOf<RecordingConnector>(service);
}

let errorLog: jest.SpyInstance;
let warnLog: jest.SpyInstance;

beforeEach(() => {
  events.length = 0;
  RecordingConnector.built = [];
  WireClient.created = 0;
  missingLoads = 0;
  brokenLoads = 0;
  errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  warnLog = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(async () => {
  while (open.length) await open.pop()!.close();
  jest.restoreAllMocks();
  // nothing in this file configures Broken unless it says so, and Missing never loads
  expect(missingLoads).toBe(0);
});

// ---- tests ----

describe('defineSubsystem: the declaration', () => {
  it('derives the registry, tokens and decorator from one declaration', () => {
    expect(DEMO.subsystem).toBe('Demo');
    expect(DEMO.service).toBe(DemoService);
    expect(DEMO.registry.names()).toEqual(['Recording', 'Missing', 'Broken', 'Shared']);
    expect(DEMO.registry.isPlanned('Cloud')).toBe(true);
    expect(getDemoToken()).toBe('SreDemo:default');
    expect(getDemoToken('archive')).toBe('SreDemo:archive');
    expect(DEMO.optionsToken('archive')).toBe('SreDemoOptions:archive');
    expect(DEMO.dependency('x').token()).toBe(DemoService);
    expect(DEMO.dependency('x').token('archive')).toBe('SreDemo:archive');
    expect(brokenLoads).toBe(0);
  });
});

describe('defineSubsystem: forRoot', () => {
  it('resolves the service class to a service over the connector, connected at boot, with validated settings', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 'hello' } }));
    const demo = moduleRef.get(DemoService);
    expect(demo).toBeInstanceOf(DemoService);
    expect(demo.state).toBe('ready');
    await expect(demo.hello()).resolves.toBe('hello');
    expect(moduleRef.get(getDemoToken())).toBe(demo);
    expect(moduleRef.get(getDemoToken('default'))).toBe(demo);
    const backend = recording(demo);
    expect(backend).toBeInstanceOf(RecordingConnector);
    expect(backend.settings).toBeInstanceOf(DemoSettings);
    expect(backend.settings.failConnects).toBe(0);
    expect(backend.connectAttempts).toBe(1);
    expect(backend.ctx).toMatchObject({ subsystem: 'Demo', connector: 'Recording', instance: 'default', deps: {} });
    expect([demo.subsystem, demo.connectorName, demo.instanceName]).toEqual(['Demo', 'Recording', 'default']);
    expect(RecordingConnector.built).toHaveLength(1);
    expect(brokenLoads).toBe(0);
  });

  it('collects secret settings into the context so that messages can be scrubbed', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording', settings: { apiKey: SECRET } }));
    expect(recording(moduleRef.get(DemoService)).ctx.secrets).toEqual([SECRET]);
  });

  it('binds a named instance to `SreDemo:<name>` and its aliases, not to the service class', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({
        name: 'archive',
        aliases: ['cold', 'backup'],
        connector: 'Recording',
        settings: { greeting: 'old' },
      }),
    );
    const archive = moduleRef.get<DemoService>('SreDemo:archive');
    expect(archive).toBeInstanceOf(DemoService);
    expect(archive.instanceName).toBe('archive');
    expect(moduleRef.get('SreDemo:cold')).toBe(archive);
    expect(moduleRef.get('SreDemo:backup')).toBe(archive);
    expect(() => moduleRef.get(DemoService)).toThrow();
    expect(() => moduleRef.get('SreDemo:default')).toThrow();
    expect(RecordingConnector.built).toHaveLength(1);
  });

  it('keeps a default and named instances apart, and @InjectDemo(name) picks one', async () => {
    @Injectable()
    class Consumer {
      constructor(
        @InjectDemo() readonly main: DemoService,
        @InjectDemo('archive') readonly archive: DemoService,
      ) {}
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 'main' } }),
        DemoModule.forRoot({ name: 'archive', connector: 'Recording', settings: { greeting: 'old' } }),
      ],
      providers: [Consumer],
    }).compile();
    open.push(moduleRef);
    await expect(moduleRef.get(DemoService).hello()).resolves.toBe('main');
    await expect(moduleRef.get<DemoService>(getDemoToken('archive')).hello()).resolves.toBe('old');
    expect(moduleRef.get(Consumer).main).toBe(moduleRef.get(DemoService));
    expect(moduleRef.get(Consumer).archive).toBe(moduleRef.get(getDemoToken('archive')));
  });

  it("accepts the user's own class implementing the backend", async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: CustomDemo }));
    const demo = moduleRef.get(DemoService);
    expect(backendOf(demo)).toBeInstanceOf(CustomDemo);
    expect(demo.connectorName).toBe('CustomDemo');
    await expect(demo.hello()).resolves.toBe('custom');
  });

  it('refuses a custom class that lacks operations, naming them', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: Stranger as never }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual([
      'Demo(Stranger): a Demo connector implements DemoBackend; it lacks hello',
    ]);
    const other = await bootError(
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      OtherModule.forRoot({ connector: class Empty {} as never }),
    );
    expect(other.message).toContain('Other(Empty): a Other connector implements OtherBackend; it lacks name');
  });

  it('builds a { useFactory, inject } connector with the injected providers, then the ConnectorContext', async () => {
    const useFactory = jest.fn(
      (greeter: { word: string }, ctx: ConnectorContext) => new FactoryBackend(greeter.word, ctx),
    );
    const moduleRef = await boot(
      GreeterModule,
      DemoModule.forRoot({ name: 'built', connector: { useFactory, inject: ['GREETER'], connectorName: 'Greeter' } }),
    );
    const demo = moduleRef.get<DemoService>(getDemoToken('built'));
    await expect(demo.hello()).resolves.toBe('hey');
    expect(useFactory).toHaveBeenCalledTimes(1);
    expect(useFactory.mock.calls[0]).toHaveLength(2);
    const ctx = useFactory.mock.calls[0][1];
    expect(ctx).toMatchObject({ subsystem: 'Demo', connector: 'Greeter', instance: 'built', deps: {}, secrets: [] });
    expect(backendOf<FactoryBackend>(demo).ctx).toBe(ctx);
    expect([demo.connectorName, demo.state]).toEqual(['Greeter', 'ready']);
    expect(moduleRef.get(SreLifecycleHost).list()).toMatchObject([{ subsystem: 'Demo', connector: 'Greeter' }]);
  });

  it('refuses settings for a factory connector, and a factory that builds something lacking operations', async () => {
    const withSettings = await bootError(
      DemoModule.forRoot({
        connector: { useFactory: () => new CustomDemo(), connectorName: 'F' },
        settings: { greeting: 'x' },
      } as never),
    );
    expect((withSettings as SreConfigError).problems).toEqual([
      'Demo(F).settings: a factory connector takes no settings',
    ]);
    const lacking = await bootError(
      DemoModule.forRoot({ connector: { useFactory: async () => ({}) as DemoBackend, connectorName: 'F' } }),
    );
    expect((lacking as SreConfigError).problems).toEqual([
      'Demo(F): a Demo connector implements DemoBackend; it lacks hello',
    ]);
  });

  it('names the valid connectors for an unknown name', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 'Recordng' as never }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      "Invalid SRE configuration: Demo: unknown connector 'Recordng' (valid connectors: Recording, Missing, Broken, Shared)",
    );
  });

  it('does not repeat an unknown connector name that does not look like one (a pasted secret)', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: `${SECRET}/x`, connectRetries: 99 } as never));
    expect((error as SreConfigError).problems).toEqual([
      'Demo: unknown connector (the name given is not a connector name and is not repeated; valid connectors: Recording, Missing, Broken, Shared)',
      'Demo.connectRetries: must be an integer from 0 to 20',
    ]);
    expect(error.message).not.toContain(SECRET);
  });

  it('does not repeat a connector name from the environment, even one shaped like a name', () => {
    const { problems } = DEMO.check({ connector: 'hunter2token', lazyConnect: 1 }, 'default', {
      hideConnectorName: true,
    });
    expect(problems).toEqual([
      'Demo: unknown connector (the name comes from an environment variable and is not repeated; valid connectors: Recording, Missing, Broken, Shared)',
      'Demo.lazyConnect: must be a boolean',
    ]);
    // a registered or planned name is the library's own: naming it discloses nothing
    expect(DEMO.check({ connector: 'Cloud' }, 'default', { hideConnectorName: true }).problems).toEqual([
      "Demo: connector 'Cloud' is not available in this version of nestjs-sre (available: Recording, Missing, Broken, Shared)",
    ]);
  });

  it('refuses a lazyConnect or dataDir of the wrong type', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', lazyConnect: 'yes', dataDir: 1 } as never),
    );
    expect((error as SreConfigError).problems).toEqual([
      'Demo(Recording).lazyConnect: must be a boolean',
      'Demo(Recording).dataDir: must be a string',
    ]);
    const fromFactory = await bootError(
      DemoModule.forRootAsync({ useFactory: () => ({ connector: 'Recording', lazyConnect: 'false' }) as never }),
    );
    expect((fromFactory as SreConfigError).problems).toEqual(['Demo(Recording).lazyConnect: must be a boolean']);
  });

  it("says in one sentence that it takes camelCase when given the seed's PascalCase keys", async () => {
    const error = await bootError(DemoModule.forRoot({ Connector: 'Recording', Settings: { greeting: 'x' } } as never));
    expect((error as SreConfigError).problems).toEqual([
      'Demo: DemoModule takes camelCase options ({ connector, settings, lazyConnect, connectRetries, connectRetryDelayMs, dataDir }); Connector, Settings are the seed format of SreModule.forRoot()',
    ]);
    const mixed = await bootError(
      DemoModule.forRootAsync({
        name: 'x',
        useFactory: () => ({ connector: 'Recording', LazyConnect: true }) as never,
      }),
    );
    expect((mixed as SreConfigError).problems).toEqual([
      'Demo[x]: DemoModule takes camelCase options ({ connector, settings, lazyConnect, connectRetries, connectRetryDelayMs, dataDir }); LazyConnect is the seed format of SreModule.forRoot()',
    ]);
  });

  it('says when a connector is not available in this version', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 'Cloud' }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      "Invalid SRE configuration: Demo: connector 'Cloud' is not available in this version of nestjs-sre (available: Recording, Missing, Broken, Shared)",
    );
  });

  it('says which package to install when a connector SDK is missing, without loading the connector', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 'Missing' }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual([
      'Demo(Missing): install definitely-not-installed-sdk (npm i definitely-not-installed-sdk@^1) to use this connector',
    ]);
    expect(missingLoads).toBe(0);
    const named = await bootError(DemoModule.forRoot({ name: 'x', connector: 'Missing' }));
    expect((named as SreConfigError).problems[0]).toMatch(
      /^Demo\(Missing\)\[x\]: install definitely-not-installed-sdk /,
    );
  });

  it('loads a connector module only when it is configured', async () => {
    await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRootAsync({ name: 'async', useFactory: () => ({ connector: 'Recording' as const }) }),
    );
    await bootError(DemoModule.forRoot({ connector: 'Nope' as never }));
    expect(DEMO.registry.names()).toContain('Broken');
    expect(checkConnectorOptions(DEMO, { connector: 'Recording' }).problems).toEqual([]);
    expect(brokenLoads).toBe(0);
    const error = await bootError(DemoModule.forRoot({ connector: 'Broken' }));
    expect(error.message).toBe(
      "Invalid SRE configuration: Demo: connector 'Broken' failed to load: the Broken connector module was loaded",
    );
    expect(brokenLoads).toBe(1);
  });

  it('fails compile() with every settings problem named Subsystem(Connector).settings.field, never the value', async () => {
    const error = await bootError(
      DemoModule.forRoot({
        connector: 'Recording',
        settings: { greeting: 42, ping: SECRET, token: SECRET, apiKey: 7 },
      } as never),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual(
      expect.arrayContaining([
        'Demo(Recording).settings.greeting: must be a string',
        'Demo(Recording).settings.ping: must be one of the following values: ok, hang, fail',
        'Demo(Recording).settings.token: unknown setting',
        'Demo(Recording).settings.apiKey: must be a string',
      ]),
    );
    expect(error.message).not.toContain(SECRET);
    expect(RecordingConnector.built).toHaveLength(0);
  });

  it('names the instance in settings problems of a named instance', async () => {
    const error = await bootError(
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', settings: { nope: 1 } } as never),
    );
    expect((error as SreConfigError).problems).toEqual(['Demo(Recording)[archive].settings.nope: unknown setting']);
  });

  it('refuses settings for a connector that takes none, naming the keys only', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: CustomDemo, settings: { key: SECRET } }));
    expect((error as SreConfigError).problems).toEqual([
      'Demo(CustomDemo).settings: this connector takes no settings (got key)',
    ]);
    expect(error.message).not.toContain(SECRET);
  });

  it('rejects unknown options and out-of-range retry options', async () => {
    const error = await bootError(
      DemoModule.forRoot({
        connector: 'Recording',
        connectRetries: 99,
        connectRetryDelayMs: -1,
        retries: 2,
      } as never),
    );
    expect((error as SreConfigError).problems).toEqual([
      'Demo(Recording).retries: unknown option',
      'Demo(Recording).connectRetries: must be an integer from 0 to 20',
      'Demo(Recording).connectRetryDelayMs: must be an integer from 0 to 60000',
    ]);
    const fractional = await bootError(DemoModule.forRoot({ connector: 'Recording', connectRetries: 1.5 }));
    expect((fractional as SreConfigError).problems).toEqual([
      'Demo(Recording).connectRetries: must be an integer from 0 to 20',
    ]);
  });

  it('refuses a connector that is neither a name, a class nor a factory', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 42 } as never));
    expect((error as SreConfigError).problems).toEqual([
      'Demo.connector: must be a connector name, a class or { useFactory } (valid names: Recording, Missing, Broken, Shared)',
    ]);
  });
});

describe('checkConnectorOptions', () => {
  it('returns every problem without throwing', () => {
    const { resolved, problems } = checkConnectorOptions(
      DEMO,
      { connector: 'Recording', settings: { greeting: 1 }, lazy: true, connectRetries: -1 },
      'archive',
    );
    expect(resolved).toBeUndefined();
    expect(problems).toEqual([
      'Demo(Recording)[archive].lazy: unknown option',
      'Demo(Recording)[archive].connectRetries: must be an integer from 0 to 20',
      'Demo(Recording)[archive].settings.greeting: must be a string',
    ]);
    expect(checkConnectorOptions(DEMO, undefined).problems).toEqual([
      "Demo: options must be an object with a 'connector'",
    ]);
    expect(checkConnectorOptions(DEMO, { connector: 'Missing' }).problems).toEqual([
      'Demo(Missing): install definitely-not-installed-sdk (npm i definitely-not-installed-sdk@^1) to use this connector',
    ]);
  });

  it('resolves good options with their defaults, and passes resolved options through', () => {
    const { resolved, problems } = checkConnectorOptions(DEMO, { connector: 'Recording', dataDir: 'rel/dir' });
    expect(problems).toEqual([]);
    const options = resolved as ResolvedConnectorOptions;
    expect(options).toMatchObject({
      kind: 'connector',
      subsystem: 'Demo',
      instance: 'default',
      connectorName: 'Recording',
      lazyConnect: false,
      retry: DEFAULT_CONNECT_RETRY,
    });
    expect(options.settings).toBeInstanceOf(DemoSettings);
    expect(options.dataDir).toBe(path.resolve('rel/dir'));
    expect(options.builder).toMatchObject({ kind: 'class', cls: RecordingConnector });
    expect(checkConnectorOptions(DEMO, options)).toEqual({ resolved: options, problems: [] });
    const tuned = checkConnectorOptions(DEMO, {
      connector: 'Recording',
      lazyConnect: true,
      connectRetries: 0,
      connectRetryDelayMs: 5,
    }).resolved as ResolvedConnectorOptions;
    expect([tuned.lazyConnect, tuned.retry.retries, tuned.retry.initialDelayMs]).toEqual([true, 0, 5]);
  });
});

describe('defineSubsystem: forRootAsync', () => {
  it('takes options from useFactory with inject', async () => {
    const moduleRef = await boot(
      DemoModule.forRootAsync({
        imports: [OptionsSourceModule],
        inject: ['GREETING'],
        useFactory: (greeting: string) => ({ connector: 'Recording', settings: { greeting } }),
      }),
    );
    await expect(moduleRef.get(DemoService).hello()).resolves.toBe('from a factory');
  });

  it('takes options from an async useFactory for a named instance', async () => {
    const moduleRef = await boot(
      DemoModule.forRootAsync({
        name: 'late',
        useFactory: async () => ({ connector: 'Recording', settings: { greeting: 'later' } }),
      }),
    );
    await expect(moduleRef.get<DemoService>('SreDemo:late').hello()).resolves.toBe('later');
  });

  it('takes options from useClass', async () => {
    const moduleRef = await boot(DemoModule.forRootAsync({ useClass: DemoOptionsFactory }));
    await expect(moduleRef.get(DemoService).hello()).resolves.toBe('from a class');
  });

  it('takes options from useExisting', async () => {
    const moduleRef = await boot(
      DemoModule.forRootAsync({ imports: [OptionsSourceModule], useExisting: DemoOptionsFactory }),
    );
    await expect(moduleRef.get(DemoService).hello()).resolves.toBe('from a class');
  });

  it('says in a sentence that a factory is missing', () => {
    expect(() => DemoModule.forRootAsync({ name: 'x' })).toThrow(SreConfigError);
    expect(() => DemoModule.forRootAsync({})).toThrow(
      'DemoModule.forRootAsync() needs one of useFactory, useClass or useExisting',
    );
  });

  it('refuses static options returned by the factory (name, isGlobal, aliases, uses)', async () => {
    const error = await bootError(
      DemoModule.forRootAsync({
        useFactory: () =>
          ({
            connector: 'Recording',
            name: 'sneaky',
            isGlobal: true,
            aliases: ['x'],
            uses: { account: 'corp' },
          }) as never,
      }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual([
      "Demo(Recording).name: 'name' is static: pass it to forRootAsync(), not from the factory",
      "Demo(Recording).isGlobal: 'isGlobal' is static: pass it to forRootAsync(), not from the factory",
      "Demo(Recording).aliases: 'aliases' is static: pass it to forRootAsync(), not from the factory",
      "Demo(Recording).uses: 'uses' is static: pass it to forRootAsync(), not from the factory",
    ]);
  });

  it('validates factory-produced settings like forRoot does', async () => {
    const error = await bootError(
      DemoModule.forRootAsync({ useFactory: () => ({ connector: 'Recording', settings: { failConnects: -1 } }) }),
    );
    expect((error as SreConfigError).problems).toEqual([
      'Demo(Recording).settings.failConnects: must not be less than 0',
    ]);
  });

  it('refuses a factory that returns nothing', async () => {
    const error = await bootError(DemoModule.forRootAsync({ useFactory: () => undefined as never }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe("Invalid SRE configuration: Demo: options must be an object with a 'connector'");
  });

  it('builds a factory connector the options factory returns, with the context as its only argument', async () => {
    const useFactory = jest.fn((ctx: ConnectorContext) => new FactoryBackend('async', ctx));
    const moduleRef = await boot(
      DemoModule.forRootAsync({ useFactory: () => ({ connector: { useFactory, connectorName: 'Late' } }) }),
    );
    await expect(moduleRef.get(DemoService).hello()).resolves.toBe('async');
    expect(useFactory.mock.calls[0]).toHaveLength(1);
    expect(useFactory.mock.calls[0][0]).toMatchObject({ subsystem: 'Demo', connector: 'Late', instance: 'default' });
  });

  it('refuses a connector factory with `inject` inside forRootAsync options, in a sentence', async () => {
    const error = await bootError(
      GreeterModule,
      DemoModule.forRootAsync({
        useFactory: () => ({
          connector: { useFactory: (_greeter: { word: string }) => new CustomDemo(), inject: ['GREETER'] },
        }),
      }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual([
      "Demo(factory).connector.inject: a factory returned by forRootAsync gets its providers through forRootAsync's own inject",
    ]);
  });

  it('resolves to the unavailable stand-in for a subsystem deliberately left without a connector', async () => {
    const moduleRef = await boot(
      DemoModule.forRootAsync({
        useFactory: () =>
          ({
            kind: 'unavailable',
            subsystem: 'Demo',
            instance: 'default',
            reason: 'no Demo connector in this version',
          }) as never,
      }),
    );
    await moduleRef.init();
    const demo = moduleRef.get(DemoService);
    expect(() => demo.hello()).toThrow(SreUnavailableError);
    expect(() => demo.hello()).toThrow('Demo is not available: no Demo connector in this version');
    expect(moduleRef.get(SreLifecycleHost).list()).toHaveLength(0);
    await closeNow(moduleRef);
  });
});

describe('defineSubsystem: dependencies', () => {
  it("fails boot with one sentence when a service's required subsystem is missing", async () => {
    const error = await bootError(OtherModule.forRoot({ connector: 'Plain' }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      'Invalid SRE configuration: Other(Plain): needs the Demo subsystem (greetings), which this application does not provide: import DemoModule.forRoot({ ..., isGlobal: true }) or SreModule',
    );
    expect(events).toEqual([]);
  });

  it('passes the required subsystem to the service constructor; `uses` picks a named instance', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', isGlobal: true, settings: { greeting: 'old' } }),
      OtherModule.forRoot({ connector: 'Plain' }),
      OtherModule.forRoot({ name: 'two', connector: 'Plain', uses: { demo: 'archive' } }),
    );
    expect(moduleRef.get(OtherService).deps.demo).toBe(moduleRef.get(DemoService));
    const two = moduleRef.get<OtherService>(OTHER.token('two'));
    expect(two.deps.demo).toBe(moduleRef.get(getDemoToken('archive')));
    await expect(two.deps.demo.hello()).resolves.toBe('old');
  });

  it('says which named instance is missing when `uses` names one that is not there', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      OtherModule.forRoot({ connector: 'Plain', uses: { demo: 'nowhere' } }),
    );
    expect(error.message).toContain('Other(Plain): needs the Demo subsystem (greetings)');
  });

  it('requires Account for team resolution, and hands it to the SecureService', async () => {
    const missing = await bootError(TeamsModule.forRoot({ connector: 'Plain' }));
    expect(missing.message).toBe(
      'Invalid SRE configuration: Teams(Plain): needs the Account subsystem (team resolution), which this application does not provide: import AccountModule.forRoot({ ..., isGlobal: true }) or SreModule',
    );
    const moduleRef = await boot(
      AccountModule.forRoot({ connector: 'DummyAccount', settings: { data: accountData('t1') }, isGlobal: true }),
      TeamsModule.forRoot({ connector: 'Plain' }),
    );
    const teams = moduleRef.get(TeamsService);
    expect(teams.resolver).toBe(moduleRef.get(AccountService));
    await expect(teams.teamOfCandidate(AccessCandidate.user('alice'))).resolves.toBe('t1');
  });

  it("`uses: { account: 'corp' }` picks the named Account instance", async () => {
    const moduleRef = await boot(
      AccountModule.forRoot({ connector: 'DummyAccount', settings: { data: accountData('t1') }, isGlobal: true }),
      AccountModule.forRoot({
        name: 'corp',
        connector: 'DummyAccount',
        settings: { data: accountData('acme') },
        isGlobal: true,
      }),
      TeamsModule.forRoot({ connector: 'Plain', uses: { account: 'corp' } }),
      TeamsModule.forRootAsync({
        name: 'async',
        uses: { account: 'corp' },
        useFactory: () => ({ connector: 'Plain' }),
      }),
    );
    const teams = moduleRef.get(TeamsService);
    expect(teams.resolver).toBe(moduleRef.get(ACCOUNT.token('corp')));
    expect(teams.resolver).not.toBe(moduleRef.get(AccountService));
    await expect(teams.teamOfCandidate(AccessCandidate.user('alice'))).resolves.toBe('acme');
    expect(moduleRef.get<TeamsService>(TEAMS.token('async')).resolver).toBe(moduleRef.get(ACCOUNT.token('corp')));
  });

  it("hands a connector entry's `uses` (a shared connection) to the backend as context.deps", async () => {
    const moduleRef = await boot(
      WIRE.forRoot({ settings: { host: 'wire.example' } }),
      DemoModule.forRoot({ connector: 'Shared' }),
      DemoModule.forRootAsync({ name: 'async', useFactory: () => ({ connector: 'Shared' as const }) }),
    );
    const demo = moduleRef.get(DemoService);
    const backend = backendOf<SharedConnector>(demo);
    expect(backend.ctx.deps.wire).toBe(moduleRef.get(WIRE.token()));
    await expect(demo.hello()).resolves.toBe('via wire.example');
    expect(backendOf<SharedConnector>(moduleRef.get(getDemoToken('async'))).ctx.deps.wire).toBe(backend.ctx.deps.wire);
    expect(WireClient.created).toBe(1);
  });

  it('fails boot with a sentence when the shared connection a connector uses is missing', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 'Shared' }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      'Invalid SRE configuration: Demo(Shared): needs a shared Wire connection, which this application does not provide: provide one with WireConnection.forRoot({ settings }) (nestjs-sre)',
    );
    const async = await bootError(
      DemoModule.forRootAsync({ name: 'a', useFactory: () => ({ connector: 'Shared' as const }) }),
    );
    expect(async.message).toContain('Demo(Shared)[a]: needs a shared Wire connection');
  });

  it('does not ask for the connection of a connector that is not chosen', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRootAsync({ name: 'async', useFactory: () => ({ connector: 'Recording' as const }) }),
    );
    expect(recording(moduleRef.get(DemoService)).ctx.deps).toEqual({});
    expect(recording(moduleRef.get(getDemoToken('async'))).ctx.deps).toEqual({});
  });
});

describe('defineSubsystem: one provider per instance', () => {
  it('fails boot when two modules provide the default instance, naming both', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      DemoModule.forRootAsync({ isGlobal: true, useFactory: () => ({ connector: 'Recording' as const }) }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual([
      'Demo: the default Demo instance (DemoService) is provided twice, by DemoModule.forRoot() and by DemoModule.forRootAsync(); the application would inject one and leave the other running (configure it once, or give one of them a name)',
    ]);
    // the second one was refused before its backend was built
    expect(RecordingConnector.built).toHaveLength(1);
  });

  it('fails boot when a named instance or an alias is provided twice', async () => {
    const named = await bootError(
      DemoModule.forRoot({ name: 'archive', connector: 'Recording' }),
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', settings: { greeting: 'other' } }),
    );
    expect(named.message).toContain("Demo: the Demo instance 'archive' is provided twice");
    const alias = await bootError(
      DemoModule.forRoot({ name: 'cold', connector: 'Recording' }),
      DemoModule.forRoot({ connector: 'Recording', aliases: ['cold'] }),
    );
    expect(alias.message).toContain("Demo: the Demo instance 'cold' is provided twice");
  });

  it('still boots one default and named instances side by side', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRoot({ name: 'a', connector: 'Recording' }),
      DemoModule.forRoot({ name: 'b', connector: 'Recording', aliases: ['c'] }),
    );
    expect(moduleRef.get(SreLifecycleHost).list()).toHaveLength(3);
  });
});

describe('defineSubsystem: overriding and lazy connect', () => {
  it('overrideProvider(ServiceClass) removes the connection entirely', async () => {
    const fake = { hello: async () => 'fake' };
    const moduleRef = await Test.createTestingModule({ imports: [DemoModule.forRoot({ connector: 'Recording' })] })
      .overrideProvider(DemoService)
      .useValue(fake)
      .compile();
    open.push(moduleRef);
    expect(moduleRef.get(DemoService)).toBe(fake);
    expect(moduleRef.get(getDemoToken())).toBe(fake);
    expect(RecordingConnector.built).toHaveLength(0);
    expect(moduleRef.get(SreLifecycleHost).list()).toHaveLength(0);
    expect(events).toEqual([]);
    await closeNow(moduleRef);
    expect(events).toEqual([]);
  });

  it('lazyConnect leaves the backend unconnected until first use', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording', lazyConnect: true }));
    const demo = moduleRef.get(DemoService);
    const backend = recording(demo);
    expect(demo.state).toBe('created');
    expect(backend.connectAttempts).toBe(0);
    await expect(demo.hello()).resolves.toBe('hi');
    await demo.hello();
    expect(backend.connectAttempts).toBe(1);
    expect(demo.state).toBe('ready');
  });

  it('lazyConnect does not retry: a failed first use is reported and the next use connects', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', lazyConnect: true, settings: { failConnects: 1 } }),
    );
    const demo = moduleRef.get(DemoService);
    await expect(demo.hello()).rejects.toThrow('Demo(Recording): connect failed: refused (attempt 1)');
    await expect(demo.hello()).resolves.toBe('hi');
    expect(recording(demo).connectAttempts).toBe(2);
  });
});

describe('defineSubsystem: bounded connect retries', () => {
  // one millisecond between attempts: the attempt count is what matters here
  const fast = { connectRetryDelayMs: 1 };

  it('boots when the backend connects within connectRetries', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', connectRetries: 2, ...fast, settings: { failConnects: 2 } }),
    );
    const demo = moduleRef.get(DemoService);
    expect(demo.state).toBe('ready');
    expect(recording(demo).connectAttempts).toBe(3);
    expect(warnLog).toHaveBeenCalledTimes(2);
    expect(warnLog).toHaveBeenCalledWith(
      'connect failed (attempt 1 of 3): Demo(Recording): connect failed: refused (attempt 1)',
    );
  });

  it('fails compile() after exactly retries + 1 attempts, and releases the backend', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', connectRetries: 2, ...fast, settings: { failConnects: 100 } }),
    );
    expect(error).toBeInstanceOf(SreBackendError);
    expect(error.message).toBe('Demo(Recording): connect failed: refused (attempt 3)');
    const [backend] = RecordingConnector.built;
    expect(backend.connectAttempts).toBe(3);
    expect(backend.disconnects).toBe(1);
  });

  it('tries once with connectRetries: 0', async () => {
    await bootError(DemoModule.forRoot({ connector: 'Recording', connectRetries: 0, settings: { failConnects: 1 } }));
    expect(RecordingConnector.built[0].connectAttempts).toBe(1);
  });
});

describe('shutdown', () => {
  it('disconnects every backend exactly once, in reverse creation order, the shared connection last', async () => {
    const moduleRef = await boot(
      WIRE.forRoot(),
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', lazyConnect: true }),
      DemoModule.forRoot({ name: 'shared', connector: 'Shared' }),
      OtherModule.forRoot({ connector: 'Plain' }),
    );
    const host = moduleRef.get(SreLifecycleHost);
    const created = host.list().map((entry) => `${entry.subsystem}:${entry.instance}`);
    expect(created).toHaveLength(5);
    // Other depends on Demo, and the Shared connector on the connection: each is created after what it uses
    expect(created.indexOf('Other:default')).toBeGreaterThan(created.indexOf('Demo:default'));
    expect(created.indexOf('Demo:shared')).toBeGreaterThan(created.indexOf('WireConnection:default'));
    events.length = 0;
    await closeNow(moduleRef);
    const expected = [...host.list()]
      .reverse()
      .map((entry) => (entry.subsystem === 'WireConnection' ? 'disconnect:wire' : `disconnect:${labelOf(entry)}`));
    expect(events).toEqual(expected);
    expect(events.indexOf('disconnect:wire')).toBeGreaterThan(events.indexOf('disconnect:Demo(Shared)[shared]'));
    await host.onApplicationShutdown();
    await moduleRef.close();
    expect(events).toEqual(expected);
    for (const backend of RecordingConnector.built) expect(backend.disconnects).toBe(1);
    expect(host.list().every((entry) => entry.ref.state === 'closed')).toBe(true);
  });

  it('stops taking work before closing (beforeApplicationShutdown drains)', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording' }));
    moduleRef.get(SreLifecycleHost).beforeApplicationShutdown();
    await expect(moduleRef.get(DemoService).hello()).rejects.toThrow(SreUnavailableError);
  });

  it('time-boxes a hanging disconnect and goes on with the others', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 'first' } }),
      DemoModule.forRoot({ name: 'stuck', connector: 'Recording', settings: { disconnect: 'hang' } }),
    );
    moduleRef.get(SreLifecycleHost).closeTimeoutMs = 30;
    const started = Date.now();
    await closeNow(moduleRef);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(RecordingConnector.built.every((backend) => backend.disconnects === 1)).toBe(true);
    expect(errorLog).toHaveBeenCalledWith('Demo(Recording)[stuck]: did not close within 30 ms');
  });

  it('logs an erroring disconnect, secrets scrubbed by the service, instead of throwing', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRoot({ name: 'broken', connector: 'Recording', settings: { disconnect: 'fail', apiKey: SECRET } }),
    );
    await expect(closeNow(moduleRef)).resolves.toBeUndefined();
    expect(RecordingConnector.built.every((backend) => backend.disconnects === 1)).toBe(true);
    expect(errorLog).toHaveBeenCalledTimes(1);
    expect(errorLog).toHaveBeenCalledWith('Demo(Recording)[broken]: disconnect failed: socket gone, key ***');
  });
});

describe('SreHealthService through the module', () => {
  it('reports each backend up or down with its connector name and never throws', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRoot({ name: 'sick', connector: 'Recording', settings: { ping: 'fail', apiKey: SECRET } }),
      DemoModule.forRoot({ name: 'slow', connector: 'Recording', settings: { ping: 'hang' } }),
    );
    const report = await moduleRef.get(SreHealthService).check(30);
    const byInstance = Object.fromEntries(report.map((entry) => [entry.instance, entry]));
    expect(byInstance.default).toMatchObject({ subsystem: 'Demo', connector: 'Recording', status: 'up' });
    expect(byInstance.default.error).toBeUndefined();
    expect(byInstance.sick).toMatchObject({
      connector: 'Recording',
      status: 'down',
      error: 'Demo(Recording)[sick]: ping failed: backend said no to ***',
    });
    expect(byInstance.slow).toMatchObject({ status: 'down', error: 'no answer within 30 ms' });
    expect(JSON.stringify(report)).not.toContain(SECRET);
    for (const entry of report) expect(entry.latencyMs).toBeGreaterThanOrEqual(0);
    expect(RecordingConnector.built.map((backend) => backend.pings)).toEqual([1, 1, 1]);
  });
});
