import 'reflect-metadata';
import { Injectable, Logger, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { IsIn, IsInt, IsOptional, IsString, Min } from 'class-validator';
import { ConnectorContext, SreConnector } from './connector';
import { SreBackendError, SreConfigError, SreUnavailableError } from './errors';
import { SreHealthService } from './health.service';
import { SreLifecycleHost } from './lifecycle';
import {
  ConnectorOptions,
  ConnectorOptionsFactory,
  createSubsystemModule,
  SubsystemDefinition,
  SubsystemModuleAsyncOptions,
  SubsystemModuleOptions,
} from './module-factory';
import { ConnectorRegistry } from './registry';
import { DEFAULT_CONNECT_RETRY } from './retry';
import { SecretSetting } from './secrets';

/** What the connectors did, in order, across every instance of a test. */
const events: string[] = [];
const SECRET = 'sk-live-0a1b2c3d4e5f-DO-NOT-PRINT';

// ---- subsystem "Demo": service class, settings, connector, registry, tokens, module ----

abstract class DemoService extends SreConnector {
  abstract hello(): Promise<string>;
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

class RecordingConnector extends DemoService {
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
    super(ctx);
    RecordingConnector.built.push(this);
  }

  async hello(): Promise<string> {
    await this.ensureReady();
    return this.settings.greeting;
  }

  protected override async onConnect(): Promise<void> {
    this.connectAttempts++;
    events.push(`connect:${this.label()}`);
    if (this.connectAttempts <= this.settings.failConnects)
      throw new Error(`refused (attempt ${this.connectAttempts})`);
  }

  protected override async onDisconnect(): Promise<void> {
    this.disconnects++;
    events.push(`disconnect:${this.label()}`);
    if (this.settings.disconnect === 'hang') await new Promise(() => undefined);
    if (this.settings.disconnect === 'fail') throw new Error(`socket gone, key ${this.settings.apiKey ?? ''}`.trim());
  }

  protected override async onPing(): Promise<void> {
    this.pings++;
    if (this.settings.ping === 'hang') await new Promise(() => undefined);
    if (this.settings.ping === 'fail')
      throw this.wrap(new Error(`backend said no to ${this.settings.apiKey ?? 'anonymous'}`), 'ping');
  }
}

/** A user's own connector: extends the service, registered nowhere. */
class CustomDemo extends DemoService {
  async hello(): Promise<string> {
    return 'custom';
  }
}

/** Looks like a connector but is not a DemoService. */
class StrangerConnector extends SreConnector {}

const DEMO_CONNECTORS = new ConnectorRegistry<DemoService>('Demo')
  .register('Recording', RecordingConnector)
  .plan('Cloud');
const getDemoToken = (name = 'default') => `SreDemo:${name}`;
const getDemoOptionsToken = (name = 'default') => `SreDemoOptions:${name}`;
const DEMO_DEFINITION: SubsystemDefinition = {
  subsystem: 'Demo',
  service: DemoService,
  registry: DEMO_CONNECTORS,
  token: getDemoToken,
  optionsToken: getDemoOptionsToken,
};
const demoFactory = createSubsystemModule(DEMO_DEFINITION);

@Module({})
class DemoModule {
  static forRoot(options: SubsystemModuleOptions) {
    return demoFactory.forRoot(DemoModule, options);
  }

  static forRootAsync(options: SubsystemModuleAsyncOptions) {
    return demoFactory.forRootAsync(DemoModule, options);
  }
}

// ---- subsystem "Other": depends on Demo through the definition's dependencies ----

abstract class OtherService extends SreConnector {
  get demo(): unknown {
    return this.context.deps.demo;
  }
}

class OtherConnector extends OtherService {
  static readonly connectorName = 'Plain';

  protected override async onConnect(): Promise<void> {
    events.push(`connect:${this.label()}`);
  }

  protected override async onDisconnect(): Promise<void> {
    events.push(`disconnect:${this.label()}`);
  }
}

const otherFactory = createSubsystemModule({
  subsystem: 'Other',
  service: OtherService,
  registry: new ConnectorRegistry<OtherService>('Other').register('Plain', OtherConnector),
  token: (name = 'default') => `SreOther:${name}`,
  optionsToken: (name = 'default') => `SreOtherOptions:${name}`,
  dependencies: { demo: () => DemoService },
});

@Module({})
class OtherModule {
  static forRoot(options: SubsystemModuleOptions) {
    return otherFactory.forRoot(OtherModule, options);
  }
}

// ---- option factories for forRootAsync ----

@Injectable()
class DemoOptionsFactory implements ConnectorOptionsFactory {
  createConnectorOptions(): ConnectorOptions {
    return { connector: 'Recording', settings: { greeting: 'from a class' } };
  }
}

@Module({
  providers: [DemoOptionsFactory, { provide: 'GREETING', useValue: 'from a factory' }],
  exports: [DemoOptionsFactory, 'GREETING'],
})
class OptionsSourceModule {}

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

let errorLog: jest.SpyInstance;
let warnLog: jest.SpyInstance;

beforeEach(() => {
  events.length = 0;
  RecordingConnector.built = [];
  errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  warnLog = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(async () => {
  while (open.length) await open.pop()!.close();
  jest.restoreAllMocks();
});

// ---- tests ----

describe('createSubsystemModule: forRoot', () => {
  it('resolves the service class to the connector, connected at boot, with validated settings', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 'hello' } }));
    const demo = moduleRef.get(DemoService);
    expect(demo).toBeInstanceOf(RecordingConnector);
    expect(demo.state).toBe('ready');
    await expect(demo.hello()).resolves.toBe('hello');
    expect(moduleRef.get(getDemoToken())).toBe(demo);
    expect(moduleRef.get(getDemoToken('default'))).toBe(demo);
    const connector = demo as RecordingConnector;
    expect(connector.settings).toBeInstanceOf(DemoSettings);
    expect(connector.settings.failConnects).toBe(0);
    expect(connector.ctx).toMatchObject({ subsystem: 'Demo', connector: 'Recording', instance: 'default', deps: {} });
    expect(RecordingConnector.built).toHaveLength(1);
  });

  it('collects secret settings into the context so that messages can be scrubbed', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording', settings: { apiKey: SECRET } }));
    expect((moduleRef.get(DemoService) as RecordingConnector).ctx.secrets).toEqual([SECRET]);
  });

  it('binds a named instance to `Demo:<name>` and its aliases, not to the service class', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({
        name: 'archive',
        aliases: ['cold', 'backup'],
        connector: 'Recording',
        settings: { greeting: 'old' },
      }),
    );
    const archive = moduleRef.get<DemoService>('SreDemo:archive');
    expect(archive).toBeInstanceOf(RecordingConnector);
    expect(archive.instanceName).toBe('archive');
    expect(moduleRef.get('SreDemo:cold')).toBe(archive);
    expect(moduleRef.get('SreDemo:backup')).toBe(archive);
    expect(() => moduleRef.get(DemoService)).toThrow();
    expect(() => moduleRef.get('SreDemo:default')).toThrow();
    expect(RecordingConnector.built).toHaveLength(1);
  });

  it('keeps a default and named instances apart', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 'main' } }),
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', settings: { greeting: 'old' } }),
    );
    await expect(moduleRef.get(DemoService).hello()).resolves.toBe('main');
    await expect(moduleRef.get<DemoService>(getDemoToken('archive')).hello()).resolves.toBe('old');
  });

  it("accepts the user's own connector class extending the service", async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: CustomDemo }));
    const demo = moduleRef.get(DemoService);
    expect(demo).toBeInstanceOf(CustomDemo);
    expect(demo.connectorName).toBe('CustomDemo');
    await expect(demo.hello()).resolves.toBe('custom');
  });

  it('refuses a custom class that does not extend the service', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: StrangerConnector }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toContain('Demo(StrangerConnector): a custom connector must extend DemoService');
  });

  it('names the valid connectors for an unknown name', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 'Recordng' }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toBe(
      "Invalid SRE configuration: Demo: unknown connector 'Recordng' (valid connectors: Recording)",
    );
  });

  it('says when a connector is not available in this version', async () => {
    const error = await bootError(DemoModule.forRoot({ connector: 'Cloud' }));
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toContain("connector 'Cloud' is not available in this version");
  });

  it('fails compile() with every settings problem named Subsystem(Connector).settings.field, never the value', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 42, ping: SECRET, token: SECRET } }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual(
      expect.arrayContaining([
        'Demo(Recording).settings.greeting: must be a string',
        'Demo(Recording).settings.ping: must be one of the following values: ok, hang, fail',
        'Demo(Recording).settings.token: unknown setting',
      ]),
    );
    expect(error.message).not.toContain(SECRET);
    expect(RecordingConnector.built).toHaveLength(0);
  });

  it('names the instance in settings problems of a named instance', async () => {
    const error = await bootError(
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', settings: { nope: 1 } }),
    );
    expect((error as SreConfigError).problems).toEqual(['Demo(Recording)[archive].settings.nope: unknown setting']);
  });

  it('rejects unknown options and out-of-range connectRetries', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', connectRetries: 99, retries: 2 } as SubsystemModuleOptions),
    );
    expect((error as SreConfigError).problems).toEqual(
      expect.arrayContaining([
        'Demo(Recording).connectRetries: must be an integer from 0 to 20',
        'Demo(Recording).retries: unknown option',
      ]),
    );
  });
});

describe('createSubsystemModule: forRootAsync', () => {
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

  it('refuses name / isGlobal returned by the factory (they are static)', async () => {
    const error = await bootError(
      DemoModule.forRootAsync({
        useFactory: () => ({ connector: 'Recording', name: 'sneaky', isGlobal: true }) as unknown as ConnectorOptions,
      }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual(
      expect.arrayContaining([
        "Demo(Recording).name: 'name' is static: pass it to forRootAsync(), not from the factory",
        "Demo(Recording).isGlobal: 'isGlobal' is static: pass it to forRootAsync(), not from the factory",
      ]),
    );
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
    const error = await bootError(
      DemoModule.forRootAsync({ useFactory: () => undefined as unknown as ConnectorOptions }),
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error.message).toContain("Demo: options must be an object with a 'connector'");
  });

  it('resolves to the unavailable stand-in for a subsystem deliberately left without a connector', async () => {
    const moduleRef = await boot(
      DemoModule.forRootAsync({
        useFactory: () => ({
          kind: 'unavailable',
          subsystem: 'Demo',
          instance: 'default',
          reason: 'no Demo connector in this version',
        }),
      }),
    );
    await moduleRef.init();
    const demo = moduleRef.get(DemoService);
    expect(() => demo.hello()).toThrow(SreUnavailableError);
    expect(() => demo.hello()).toThrow('Demo is not available: no Demo connector in this version');
    expect(moduleRef.get(SreLifecycleHost).list()).toHaveLength(0);
    await moduleRef.close();
    open.pop();
  });
});

describe('createSubsystemModule: overriding and lazy connect', () => {
  it('overrideProvider(ServiceClass) removes the connector entirely', async () => {
    const fake = { hello: async () => 'fake' };
    const moduleRef = await Test.createTestingModule({ imports: [DemoModule.forRoot({ connector: 'Recording' })] })
      .overrideProvider(DemoService)
      .useValue(fake)
      .compile();
    open.push(moduleRef);
    expect(moduleRef.get(DemoService)).toBe(fake);
    expect(moduleRef.get(getDemoToken())).toBe(fake);
    expect(RecordingConnector.built).toHaveLength(0);
    expect(events).toEqual([]);
    await moduleRef.close();
    open.pop();
    expect(events).toEqual([]);
  });

  it('lazyConnect leaves the connector unconnected until first use', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording', lazyConnect: true }));
    const demo = moduleRef.get(DemoService) as RecordingConnector;
    expect(demo.state).toBe('created');
    expect(demo.connectAttempts).toBe(0);
    await expect(demo.hello()).resolves.toBe('hi');
    await demo.hello();
    expect(demo.connectAttempts).toBe(1);
    expect(demo.state).toBe('ready');
  });

  it('injects declared dependencies into the context, and leaves them undefined when absent', async () => {
    const withDemo = await boot(
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      OtherModule.forRoot({ connector: 'Plain' }),
    );
    expect(withDemo.get(OtherService).demo).toBe(withDemo.get(DemoService));
    const alone = await boot(OtherModule.forRoot({ connector: 'Plain' }));
    expect(alone.get(OtherService).demo).toBeUndefined();
  });
});

describe('createSubsystemModule: bounded connect retries', () => {
  // the default policy waits 200 ms, then 400 ms...; the attempt count is what matters here
  const defaults = { ...DEFAULT_CONNECT_RETRY };
  beforeAll(() => Object.assign(DEFAULT_CONNECT_RETRY, { initialDelayMs: 1, maxDelayMs: 2 }));
  afterAll(() => Object.assign(DEFAULT_CONNECT_RETRY, defaults));

  it('boots when the connector succeeds within connectRetries', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', connectRetries: 2, settings: { failConnects: 2 } }),
    );
    const demo = moduleRef.get(DemoService) as RecordingConnector;
    expect(demo.state).toBe('ready');
    expect(demo.connectAttempts).toBe(3);
    expect(warnLog).toHaveBeenCalledTimes(2);
  });

  it('fails compile() after exactly retries + 1 attempts', async () => {
    const error = await bootError(
      DemoModule.forRoot({ connector: 'Recording', connectRetries: 2, settings: { failConnects: 100 } }),
    );
    expect(error).toBeInstanceOf(SreBackendError);
    expect(error.message).toBe('Demo(Recording): connect failed: refused (attempt 3)');
    expect(RecordingConnector.built[0].connectAttempts).toBe(3);
  });

  it('tries once with connectRetries: 0', async () => {
    await bootError(DemoModule.forRoot({ connector: 'Recording', connectRetries: 0, settings: { failConnects: 1 } }));
    expect(RecordingConnector.built[0].connectAttempts).toBe(1);
  });
});

describe('shutdown', () => {
  it('disconnects every connector exactly once, in reverse creation order', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', isGlobal: true }),
      DemoModule.forRoot({ name: 'archive', connector: 'Recording', lazyConnect: true }),
      OtherModule.forRoot({ connector: 'Plain' }),
    );
    const host = moduleRef.get(SreLifecycleHost);
    const created = host.list().map((entry) => `${entry.subsystem}:${entry.instance}`);
    expect(created).toHaveLength(3);
    // Other depends on Demo, so it is created after it
    expect(created.indexOf('Other:default')).toBeGreaterThan(created.indexOf('Demo:default'));
    events.length = 0;
    await moduleRef.close();
    open.pop();
    const expected = [...host.list()]
      .reverse()
      .map(
        (entry) =>
          `disconnect:${entry.subsystem}(${entry.connector})${entry.instance === 'default' ? '' : `[${entry.instance}]`}`,
      );
    expect(events).toEqual(expected);
    await host.onApplicationShutdown();
    await moduleRef.close();
    expect(events).toEqual(expected);
    for (const connector of RecordingConnector.built) expect(connector.disconnects).toBe(1);
    expect(host.list().every((entry) => entry.ref.state === 'closed')).toBe(true);
  });

  it('stops taking work before closing (beforeApplicationShutdown drains)', async () => {
    const moduleRef = await boot(DemoModule.forRoot({ connector: 'Recording' }));
    const host = moduleRef.get(SreLifecycleHost);
    host.beforeApplicationShutdown();
    await expect(moduleRef.get(DemoService).hello()).rejects.toThrow(SreUnavailableError);
  });

  it('time-boxes a hanging disconnect and goes on with the others', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording', settings: { greeting: 'first' } }),
      DemoModule.forRoot({ name: 'stuck', connector: 'Recording', settings: { disconnect: 'hang' } }),
    );
    const host = moduleRef.get(SreLifecycleHost);
    host.closeTimeoutMs = 30;
    const started = Date.now();
    await moduleRef.close();
    open.pop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(RecordingConnector.built.every((connector) => connector.disconnects === 1)).toBe(true);
    expect(errorLog).toHaveBeenCalledWith('Demo(Recording)[stuck]: did not close within 30 ms');
  });

  it('logs an erroring disconnect (secrets scrubbed by the connector) instead of throwing', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRoot({ name: 'broken', connector: 'Recording', settings: { disconnect: 'fail' } }),
    );
    await expect(moduleRef.close()).resolves.toBeUndefined();
    open.pop();
    expect(RecordingConnector.built.every((connector) => connector.disconnects === 1)).toBe(true);
    expect(errorLog).toHaveBeenCalledWith('Demo(Recording)[broken]: socket gone, key');
  });
});

describe('SreHealthService through the module', () => {
  it('reports each connector up or down with its connector name and never throws', async () => {
    const moduleRef = await boot(
      DemoModule.forRoot({ connector: 'Recording' }),
      DemoModule.forRoot({ name: 'sick', connector: 'Recording', settings: { ping: 'fail', apiKey: SECRET } }),
      DemoModule.forRoot({ name: 'slow', connector: 'Recording', settings: { ping: 'hang' } }),
    );
    const health = moduleRef.get(SreHealthService);
    const report = await health.check(30);
    const byInstance = Object.fromEntries(report.map((entry) => [entry.instance, entry]));
    expect(byInstance.default).toMatchObject({ subsystem: 'Demo', connector: 'Recording', status: 'up' });
    expect(byInstance.default.error).toBeUndefined();
    expect(byInstance.sick).toMatchObject({
      connector: 'Recording',
      status: 'down',
      error: 'Demo(Recording)[sick]: ping: backend said no to ***',
    });
    expect(byInstance.slow).toMatchObject({ status: 'down', error: 'no answer within 30 ms' });
    expect(JSON.stringify(report)).not.toContain(SECRET);
    for (const entry of report) expect(entry.latencyMs).toBeGreaterThanOrEqual(0);
  });
});
