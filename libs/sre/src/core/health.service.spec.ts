import { createConnectorContext, SreBackend } from './backend';
import { SreHealthService } from './health.service';
import { SreLifecycleHost } from './lifecycle';
import { SreLifecycle, SreService } from './service';

class PingBackend implements SreBackend {
  constructor(readonly answer: () => Promise<void>) {}

  ping(): Promise<void> {
    return this.answer();
  }
}

class PingService extends SreService<PingBackend> {}

function pinging(answer: () => Promise<void>, instance: string): PingService {
  return new PingService(
    new PingBackend(answer),
    createConnectorContext({ subsystem: 'Cache', connector: 'Redis', instance }),
  );
}

/** A tracked lifecycle that breaks the contract: ping throws synchronously. */
const rude: SreLifecycle = {
  state: 'ready',
  connect: async () => undefined,
  drain: () => undefined,
  disconnect: async () => undefined,
  ping: () => {
    throw new Error('not even a promise');
  },
};

function hostWith(...services: PingService[]): SreLifecycleHost {
  const host = new SreLifecycleHost();
  for (const ref of services)
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
        pinging(async () => undefined, 'default'),
        pinging(() => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')), 'sessions'),
        pinging(() => Promise.reject('plain string'), 'odd'),
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
        error: 'Cache(Redis)[sessions]: ping failed: ECONNREFUSED 127.0.0.1:6379',
        latencyMs: expect.any(Number),
      },
      {
        subsystem: 'Cache',
        instance: 'odd',
        connector: 'Redis',
        status: 'down',
        error: 'Cache(Redis)[odd]: ping failed: plain string',
        latencyMs: expect.any(Number),
      },
    ]);
  });

  it('reports a ping that does not answer in time as down, within the time box', async () => {
    const health = new SreHealthService(hostWith(pinging(() => new Promise(() => undefined), 'slow')));
    const started = Date.now();
    const [entry] = await health.check(20);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(entry).toMatchObject({ status: 'down', error: 'no answer within 20 ms' });
    expect(entry.latencyMs).toBeGreaterThanOrEqual(15);
  });

  it('never throws, even when a ping throws synchronously or the connector is closed', async () => {
    const closed = pinging(async () => undefined, 'closed');
    await closed.disconnect();
    const host = hostWith(closed);
    host.track({ subsystem: 'Connection', instance: 'default', connector: 'Rude', ref: rude });
    const health = new SreHealthService(host);
    const report = await health.check(50);
    expect(report.map((entry) => entry.status)).toEqual(['down', 'down']);
    expect(report[0].error).toBe('Cache(Redis)[closed] is closed');
    expect(report[1]).toMatchObject({ subsystem: 'Connection', connector: 'Rude', error: 'not even a promise' });
  });
});
