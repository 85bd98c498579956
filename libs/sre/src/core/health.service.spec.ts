import { createConnectorContext, SreConnector } from './connector';
import { SreHealthService } from './health.service';
import { SreLifecycleHost } from './lifecycle';

class PingConnector extends SreConnector {
  constructor(
    private readonly answer: () => Promise<void>,
    instance: string,
  ) {
    super(createConnectorContext({ subsystem: 'Cache', connector: 'Redis', instance }));
  }

  protected override onPing(): Promise<void> {
    return this.answer();
  }
}

/** A user's connector that breaks the contract: ping throws synchronously. */
class RudeConnector extends SreConnector {
  override ping(): Promise<void> {
    throw new Error('not even a promise');
  }
}

function hostWith(...connectors: SreConnector[]): SreLifecycleHost {
  const host = new SreLifecycleHost();
  for (const ref of connectors)
    host.track({ subsystem: ref.subsystem, instance: ref.instanceName, connector: ref.connectorName, ref });
  return host;
}

describe('SreHealthService', () => {
  it('reports nothing when no connector was created', async () => {
    await expect(new SreHealthService(new SreLifecycleHost()).check()).resolves.toEqual([]);
  });

  it('reports up and down per connector with its subsystem, instance and connector name', async () => {
    const health = new SreHealthService(
      hostWith(
        new PingConnector(async () => undefined, 'default'),
        new PingConnector(() => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')), 'sessions'),
        new PingConnector(() => Promise.reject('plain string'), 'odd'),
      ),
    );
    const report = await health.check();
    expect(report).toEqual([
      { subsystem: 'Cache', instance: 'default', connector: 'Redis', status: 'up', latencyMs: expect.any(Number) },
      {
        subsystem: 'Cache',
        instance: 'sessions',
        connector: 'Redis',
        status: 'down',
        error: 'ECONNREFUSED 127.0.0.1:6379',
        latencyMs: expect.any(Number),
      },
      {
        subsystem: 'Cache',
        instance: 'odd',
        connector: 'Redis',
        status: 'down',
        error: 'plain string',
        latencyMs: expect.any(Number),
      },
    ]);
  });

  it('reports a ping that does not answer in time as down, within the time box', async () => {
    const health = new SreHealthService(hostWith(new PingConnector(() => new Promise(() => undefined), 'slow')));
    const started = Date.now();
    const [entry] = await health.check(20);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(entry).toMatchObject({ status: 'down', error: 'no answer within 20 ms' });
    expect(entry.latencyMs).toBeGreaterThanOrEqual(15);
  });

  it('never throws, even when a ping throws synchronously or the connector is closed', async () => {
    const closed = new PingConnector(async () => undefined, 'closed');
    await closed.disconnect();
    const health = new SreHealthService(hostWith(new RudeConnector(), closed));
    const report = await health.check(50);
    expect(report.map((entry) => entry.status)).toEqual(['down', 'down']);
    expect(report[0].error).toBe('not even a promise');
    expect(report[1].error).toBe('Cache(Redis)[closed] is closed');
  });
});
