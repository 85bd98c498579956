import { SreConnector } from './connector';
import { ConnectorRegistry } from './registry';

class AlphaConnector extends SreConnector {}
class BetaConnector extends SreConnector {}

describe('ConnectorRegistry', () => {
  it('registers and finds connectors by name', () => {
    const registry = new ConnectorRegistry('Cache').register('RAM', AlphaConnector).register('Redis', BetaConnector);
    expect(registry.subsystem).toBe('Cache');
    expect(registry.get('RAM')).toBe(AlphaConnector);
    expect(registry.get('Redis')).toBe(BetaConnector);
    expect(registry.get('ram')).toBeUndefined();
    expect(registry.has('RAM')).toBe(true);
    expect(registry.has('Memcached')).toBe(false);
    expect(registry.names()).toEqual(['RAM', 'Redis']);
  });

  it('accepts the same class twice under one name but refuses another class', () => {
    const registry = new ConnectorRegistry('Cache').register('RAM', AlphaConnector);
    expect(() => registry.register('RAM', AlphaConnector)).not.toThrow();
    expect(() => registry.register('RAM', BetaConnector)).toThrow(
      "Cache: a connector named 'RAM' is already registered",
    );
    expect(registry.get('RAM')).toBe(AlphaConnector);
  });

  it('plans names that arrive later, and registering one clears the plan', () => {
    const registry = new ConnectorRegistry('Storage')
      .register('LocalStorage', AlphaConnector)
      .plan('S3', 'LocalStorage');
    expect(registry.isPlanned('S3')).toBe(true);
    expect(registry.isPlanned('LocalStorage')).toBe(false);
    expect(registry.names()).toEqual(['LocalStorage']);
    registry.register('S3', BetaConnector);
    expect(registry.isPlanned('S3')).toBe(false);
    expect(registry.get('S3')).toBe(BetaConnector);
  });

  it('describes a planned name as not available in this version', () => {
    const registry = new ConnectorRegistry('Storage').register('LocalStorage', AlphaConnector).plan('S3');
    expect(registry.describeMissing('S3')).toBe(
      "connector 'S3' is not available in this version of nestjs-sre (available: LocalStorage)",
    );
  });

  it('describes an unknown name with the valid ones', () => {
    const registry = new ConnectorRegistry('Cache')
      .register('RAM', AlphaConnector)
      .register('Redis', BetaConnector)
      .plan('S3');
    expect(registry.describeMissing('Rdis')).toBe("unknown connector 'Rdis' (valid connectors: RAM, Redis)");
    expect(new ConnectorRegistry('Code').describeMissing('X')).toBe(
      "unknown connector 'X' (valid connectors: none yet)",
    );
  });
});
