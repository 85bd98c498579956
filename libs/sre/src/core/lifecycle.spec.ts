import { Logger } from '@nestjs/common';
import { createConnectorContext, SreBackend } from './backend';
import { SreConfigError } from './errors';
import { SreLifecycleHost } from './lifecycle';
import { ConnectorState, SreLifecycle, SreService } from './service';

type Behaviour = 'ok' | 'hang' | 'fail';

class ProbeBackend implements SreBackend {
  disconnects = 0;

  constructor(
    private readonly log: string[],
    private readonly name: string,
    private readonly behaviour: Behaviour,
  ) {}

  async disconnect(): Promise<void> {
    this.disconnects++;
    this.log.push(this.name);
    if (this.behaviour === 'hang') await new Promise(() => undefined);
    if (this.behaviour === 'fail') throw new Error('socket gone');
  }
}

class ProbeService extends SreService<ProbeBackend> {
  get disconnects(): number {
    return this.backend.disconnects;
  }
}

function probe(log: string[], behaviour: Behaviour = 'ok', instance = 'default'): ProbeService {
  return new ProbeService(
    new ProbeBackend(log, instance, behaviour),
    createConnectorContext({ subsystem: 'Probe', connector: 'Mem', instance }),
  );
}

/** What a shared connection looks like to the host: a lifecycle that is no service. */
class PlainLifecycle implements SreLifecycle {
  state: ConnectorState = 'ready';
  constructor(
    private readonly log: string[],
    private readonly error?: unknown,
  ) {}
  async connect(): Promise<void> {}
  drain(): void {
    this.state = 'draining';
  }
  async disconnect(): Promise<void> {
    this.log.push('connection');
    this.state = 'closed';
    if (this.error !== undefined) throw this.error;
  }
  async ping(): Promise<void> {}
}

function track<T extends ProbeService>(host: SreLifecycleHost, service: T): T {
  host.track({
    subsystem: service.subsystem,
    instance: service.instanceName,
    connector: service.connectorName,
    ref: service,
  });
  return service;
}

describe('SreLifecycleHost', () => {
  let errorLog: jest.SpyInstance;

  beforeEach(() => {
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => jest.restoreAllMocks());

  it('lists what it tracks in creation order', () => {
    const host = new SreLifecycleHost();
    const log: string[] = [];
    const a = track(host, probe(log, 'ok', 'a'));
    const b = track(host, probe(log, 'ok', 'b'));
    expect(host.list().map((entry) => entry.ref)).toEqual([a, b]);
  });

  it('drains every connector before shutdown', async () => {
    const host = new SreLifecycleHost();
    const connectors = [track(host, probe([], 'ok', 'a')), track(host, probe([], 'ok', 'b'))];
    await connectors[0].connect();
    host.beforeApplicationShutdown();
    expect(connectors.map((connector) => connector.state)).toEqual(['draining', 'draining']);
  });

  it('closes in reverse creation order, once, even when asked repeatedly or concurrently', async () => {
    const host = new SreLifecycleHost();
    const log: string[] = [];
    const connectors = ['a', 'b', 'c'].map((name) => track(host, probe(log, 'ok', name)));
    await Promise.all([host.onApplicationShutdown(), host.onApplicationShutdown()]);
    await host.onApplicationShutdown();
    expect(log).toEqual(['c', 'b', 'a']);
    expect(connectors.map((connector) => connector.disconnects)).toEqual([1, 1, 1]);
    expect(connectors.every((connector) => connector.state === 'closed')).toBe(true);
    expect(errorLog).not.toHaveBeenCalled();
  });

  it('time-boxes a hanging close, logs it, and closes the rest', async () => {
    const host = new SreLifecycleHost();
    host.closeTimeoutMs = 25;
    const log: string[] = [];
    track(host, probe(log, 'ok', 'a'));
    track(host, probe(log, 'hang', 'stuck'));
    track(host, probe(log, 'ok', 'c'));
    const started = Date.now();
    await host.onApplicationShutdown();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(20);
    expect(elapsed).toBeLessThan(1_000);
    expect(log).toEqual(['c', 'stuck', 'a']);
    expect(errorLog).toHaveBeenCalledTimes(1);
    expect(errorLog).toHaveBeenCalledWith('Probe(Mem)[stuck]: did not close within 25 ms');
  });

  it('logs a failing close instead of throwing, and closes the rest', async () => {
    const host = new SreLifecycleHost();
    const log: string[] = [];
    track(host, probe(log, 'ok', 'default'));
    track(host, probe(log, 'fail', 'default'));
    await expect(host.onApplicationShutdown()).resolves.toBeUndefined();
    expect(log).toEqual(['default', 'default']);
    // the service already names itself in its error: the label is not repeated
    expect(errorLog).toHaveBeenCalledTimes(1);
    expect(errorLog).toHaveBeenCalledWith('Probe(Mem): disconnect failed: socket gone');
  });

  it('tracks shared connections like services: drained, closed after the services created after them', async () => {
    const host = new SreLifecycleHost();
    const log: string[] = [];
    const connection = new PlainLifecycle(log, 'refused');
    host.track({ subsystem: 'Connection', instance: 'default', connector: 'Redis', ref: connection });
    const service = track(host, probe(log, 'ok', 'user'));
    host.beforeApplicationShutdown();
    expect([connection.state, service.state]).toEqual(['draining', 'draining']);
    await host.onApplicationShutdown();
    expect(log).toEqual(['user', 'connection']);
    expect(connection.state).toBe('closed');
    expect(errorLog).toHaveBeenCalledWith('Connection(Redis): refused');
  });
});

describe('SreLifecycleHost.claim', () => {
  it('refuses a second provider of the same instance, naming both origins and the way out', () => {
    const host = new SreLifecycleHost();
    host.claim('Storage', ['default', 'main'], 'SreModule.forRoot()', 'StorageService');
    host.claim('Storage', ['archive'], 'StorageModule.forRoot()', 'StorageService');
    host.claim('Cache', ['default'], 'SreModule.forRoot()', 'CacheService');
    expect(() => host.claim('Storage', ['default'], 'StorageModule.forRoot()', 'StorageService')).toThrow(
      new SreConfigError([
        'Storage: the default Storage instance (StorageService) is provided twice, by SreModule.forRoot() and by StorageModule.forRoot(); the application would inject one and leave the other running (SreModule provides every subsystem: put this Storage entry in its config, or give the other instance a name)',
      ]),
    );
    expect(() => host.claim('Storage', ['main'], 'SreModule.forRootAsync()')).toThrow(
      "Storage: the Storage instance 'main' is provided twice, by SreModule.forRoot() and by SreModule.forRootAsync(); the application would inject one and leave the other running (import SreModule once: its config holds every subsystem)",
    );
    expect(() => host.claim('Storage', ['archive'], 'StorageModule.forRootAsync()')).toThrow(
      '(configure it once, or give one of them a name)',
    );
  });
});
