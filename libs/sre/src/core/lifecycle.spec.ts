import { Logger } from '@nestjs/common';
import { createConnectorContext, SreConnector } from './connector';
import { SreLifecycleHost } from './lifecycle';

type Behaviour = 'ok' | 'hang' | 'fail';

class ProbeConnector extends SreConnector {
  disconnects = 0;

  constructor(
    readonly log: string[],
    private readonly behaviour: Behaviour = 'ok',
    instance = 'default',
  ) {
    super(createConnectorContext({ subsystem: 'Probe', connector: 'Mem', instance }));
  }

  protected override async onDisconnect(): Promise<void> {
    this.disconnects++;
    this.log.push(this.instanceName);
    if (this.behaviour === 'hang') await new Promise(() => undefined);
    if (this.behaviour === 'fail') throw new Error('socket gone');
  }
}

function track(host: SreLifecycleHost, connector: ProbeConnector): ProbeConnector {
  host.track({
    subsystem: connector.subsystem,
    instance: connector.instanceName,
    connector: connector.connectorName,
    ref: connector,
  });
  return connector;
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
    const a = track(host, new ProbeConnector(log, 'ok', 'a'));
    const b = track(host, new ProbeConnector(log, 'ok', 'b'));
    expect(host.list().map((entry) => entry.ref)).toEqual([a, b]);
  });

  it('drains every connector before shutdown', async () => {
    const host = new SreLifecycleHost();
    const connectors = [track(host, new ProbeConnector([], 'ok', 'a')), track(host, new ProbeConnector([], 'ok', 'b'))];
    await connectors[0].connect();
    host.beforeApplicationShutdown();
    expect(connectors.map((connector) => connector.state)).toEqual(['draining', 'draining']);
  });

  it('closes in reverse creation order, once, even when asked repeatedly or concurrently', async () => {
    const host = new SreLifecycleHost();
    const log: string[] = [];
    const connectors = ['a', 'b', 'c'].map((name) => track(host, new ProbeConnector(log, 'ok', name)));
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
    track(host, new ProbeConnector(log, 'ok', 'a'));
    track(host, new ProbeConnector(log, 'hang', 'stuck'));
    track(host, new ProbeConnector(log, 'ok', 'c'));
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
    track(host, new ProbeConnector(log, 'ok', 'default'));
    track(host, new ProbeConnector(log, 'fail', 'default'));
    await expect(host.onApplicationShutdown()).resolves.toBeUndefined();
    expect(log).toEqual(['default', 'default']);
    expect(errorLog).toHaveBeenCalledWith('Probe(Mem): socket gone');
  });
});
