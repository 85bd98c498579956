import type { SreBackend } from './backend';
import { connector, ConnectorRegistry, Dependency, isConnectorName, planned } from './registry';

class AlphaBackend implements SreBackend {}
class BetaBackend implements SreBackend {}

function dependency(what: string): Dependency {
  return { what, hint: `provide ${what}`, token: (instance = 'default') => `${what}:${instance}` };
}

describe('ConnectorRegistry', () => {
  it('registers classes and finds them by name', () => {
    const registry = new ConnectorRegistry('Cache').register('RAM', AlphaBackend).register('Redis', BetaBackend);
    expect(registry.subsystem).toBe('Cache');
    expect(registry.get('RAM')).toBe(AlphaBackend);
    expect(registry.get('Redis')).toBe(BetaBackend);
    expect(registry.get('ram')).toBeUndefined();
    expect(registry.has('RAM')).toBe(true);
    expect(registry.has('Memcached')).toBe(false);
    expect(registry.names()).toEqual(['RAM', 'Redis']);
    expect(registry.lookup('RAM')).toEqual({ cls: AlphaBackend, entry: registry.entry('RAM') });
  });

  it('accepts the same connector twice under one name but refuses another one', () => {
    const lazy = connector(() => BetaBackend);
    const registry = new ConnectorRegistry('Cache').register('RAM', AlphaBackend).register('Lazy', lazy);
    expect(() => registry.register('RAM', AlphaBackend)).not.toThrow();
    expect(() => registry.register('Lazy', lazy)).not.toThrow();
    expect(() => registry.register('RAM', BetaBackend)).toThrow("Cache: a connector named 'RAM' is already registered");
    expect(() =>
      registry.register(
        'RAM',
        connector(() => BetaBackend),
      ),
    ).toThrow("Cache: a connector named 'RAM' is already registered");
    expect(() =>
      registry.register(
        'Lazy',
        connector(() => AlphaBackend),
      ),
    ).toThrow("Cache: a connector named 'Lazy' is already registered");
    expect(registry.get('RAM')).toBe(AlphaBackend);
    expect(registry.get('Lazy')).toBe(BetaBackend);
  });

  it('keeps an entry’s declarations when its own class is registered again', () => {
    const uses = { redis: dependency('redis') };
    const registry = new ConnectorRegistry('Cache').register(
      'Redis',
      connector(() => BetaBackend, { uses }),
    );
    expect(registry.get('Redis')).toBe(BetaBackend);
    registry.register('Redis', BetaBackend);
    expect(registry.entry('Redis')?.uses).toBe(uses);
    expect([...registry.dependencies().keys()]).toEqual(['redis']);
  });

  it('plans names that arrive later, keeps them out of names(), and registering one clears the plan', () => {
    const registry = new ConnectorRegistry('Storage')
      .register('LocalStorage', AlphaBackend)
      .plan('S3', 'LocalStorage')
      .register('Azure', planned({ sdk: [{ package: '@azure/storage-blob', range: '^12' }] }));
    expect(registry.isPlanned('S3')).toBe(true);
    expect(registry.isPlanned('Azure')).toBe(true);
    expect(registry.isPlanned('LocalStorage')).toBe(false);
    expect(registry.isPlanned('Nope')).toBe(false);
    expect(registry.has('S3')).toBe(false);
    expect(registry.get('S3')).toBeUndefined();
    expect(registry.names()).toEqual(['LocalStorage']);
    registry.register('S3', BetaBackend);
    expect(registry.isPlanned('S3')).toBe(false);
    expect(registry.get('S3')).toBe(BetaBackend);
    expect(registry.names()).toEqual(['LocalStorage', 'S3']);
  });

  it('loads a lazy entry on first lookup only, and once', () => {
    const load = jest.fn(() => AlphaBackend);
    const registry = new ConnectorRegistry('Cache').register('RAM', connector(load));
    expect(registry.has('RAM')).toBe(true);
    expect(registry.names()).toEqual(['RAM']);
    expect(registry.isPlanned('RAM')).toBe(false);
    expect(registry.describeMissing('X')).toContain('RAM');
    expect(load).not.toHaveBeenCalled();
    expect(registry.get('RAM')).toBe(AlphaBackend);
    expect(registry.lookup('RAM')).toMatchObject({ cls: AlphaBackend });
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('reports a load that failed as a problem (nothing is cached) and retries it next time', () => {
    let attempts = 0;
    const registry = new ConnectorRegistry('Cache').register(
      'Flaky',
      connector(() => {
        if (++attempts === 1) throw new Error('syntax error in flaky.connector');
        return AlphaBackend;
      }),
    );
    expect(registry.lookup('Flaky')).toEqual({
      problem: "connector 'Flaky' failed to load: syntax error in flaky.connector",
    });
    expect(registry.get('Flaky')).toBe(AlphaBackend);
    expect(attempts).toBe(2);
  });

  it('says what to install when an SDK is missing, without loading the connector', () => {
    const load = jest.fn(() => AlphaBackend);
    const registry = new ConnectorRegistry('Cache').register(
      'Redis',
      connector(load, {
        sdk: [
          { package: 'definitely-not-installed-sdk', range: '^1' },
          { package: 'class-validator', range: '^0.15' },
          { package: 'also-not-installed', range: '^2' },
        ],
      }),
    );
    expect(registry.lookup('Redis')).toEqual({
      problem:
        'install definitely-not-installed-sdk and also-not-installed (npm i definitely-not-installed-sdk@^1 also-not-installed@^2) to use this connector',
    });
    expect(registry.get('Redis')).toBeUndefined();
    expect(load).not.toHaveBeenCalled();
  });

  it('loads a connector whose SDKs are installed', () => {
    const registry = new ConnectorRegistry('Cache').register(
      'Ok',
      connector(() => AlphaBackend, { sdk: [{ package: 'class-validator', range: '^0.15' }] }),
    );
    expect(registry.get('Ok')).toBe(AlphaBackend);
  });

  it('turns a module-not-found while loading a connector with an SDK into the install hint', () => {
    const registry = new ConnectorRegistry('Cache').register(
      'Redis',
      connector(
        () => {
          throw Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
        },
        { sdk: [{ package: 'class-validator', range: '^0.15' }] },
      ),
    );
    expect(registry.lookup('Redis')).toEqual({
      problem: 'install class-validator (npm i class-validator@^0.15) to use this connector',
    });
  });

  it('answers a name that is not registered with the sentence of describeMissing', () => {
    const registry = new ConnectorRegistry('Storage').register('LocalStorage', AlphaBackend).plan('S3');
    expect(registry.lookup('S3')).toEqual({ problem: registry.describeMissing('S3') });
    expect(registry.lookup('Nope')).toEqual({ problem: registry.describeMissing('Nope') });
  });

  it('describes a planned name as not available in this version', () => {
    const registry = new ConnectorRegistry('Storage').register('LocalStorage', AlphaBackend).plan('S3');
    expect(registry.describeMissing('S3')).toBe(
      "connector 'S3' is not available in this version of nestjs-sre (available: LocalStorage)",
    );
    expect(new ConnectorRegistry('Code').plan('AWSLambda').describeMissing('AWSLambda')).toBe(
      "connector 'AWSLambda' is not available in this version of nestjs-sre (available: none yet)",
    );
  });

  it('describes an unknown name with the valid ones', () => {
    const registry = new ConnectorRegistry('Cache')
      .register('RAM', AlphaBackend)
      .register('Redis', BetaBackend)
      .plan('S3');
    expect(registry.describeMissing('Rdis')).toBe("unknown connector 'Rdis' (valid connectors: RAM, Redis)");
    expect(new ConnectorRegistry('Code').describeMissing('X')).toBe(
      "unknown connector 'X' (valid connectors: none yet)",
    );
  });

  it('does not repeat an unknown name that is not shaped like a connector name, or that is hidden', () => {
    const registry = new ConnectorRegistry('Cache').register('RAM', AlphaBackend).plan('Redis');
    for (const name of ['sk-live/abc==', '', 'has space', '1Leading', 'x'.repeat(65)])
      expect([name, registry.describeMissing(name)]).toEqual([
        name,
        'unknown connector (the name given is not a connector name and is not repeated; valid connectors: RAM)',
      ]);
    expect(registry.lookup('hunter2token', { hideName: true })).toEqual({
      problem:
        'unknown connector (the name comes from an environment variable and is not repeated; valid connectors: RAM)',
    });
    // a planned name is the library's own
    expect(registry.describeMissing('Redis', { hideName: true })).toContain("connector 'Redis' is not available");
    expect([isConnectorName('Local-Storage_2'), isConnectorName('x'.repeat(64)), isConnectorName(3)]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('lists every dependency its connectors declare, by key, without loading them', () => {
    const redis = dependency('redis');
    const aws = dependency('aws');
    const load = jest.fn(() => AlphaBackend);
    const registry = new ConnectorRegistry('Cache')
      .register('RAM', AlphaBackend)
      .register('Redis', connector(load, { uses: { redis } }))
      .register('S3', planned({ uses: { aws } }))
      .register('Both', connector(load, { uses: { redis, aws } }));
    expect(registry.dependencies()).toEqual(
      new Map([
        ['redis', redis],
        ['aws', aws],
      ]),
    );
    expect(new ConnectorRegistry('Empty').dependencies().size).toBe(0);
    expect(load).not.toHaveBeenCalled();
  });
});
