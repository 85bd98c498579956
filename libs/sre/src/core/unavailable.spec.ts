import { SreUnavailableError } from './errors';
import { createUnavailableConnector, isUnavailableConnector } from './unavailable';

interface Anything {
  [key: string]: (...args: unknown[]) => unknown;
}

describe('createUnavailableConnector', () => {
  const stub = createUnavailableConnector('Code', 'default', 'no Code connector is configured') as unknown as Anything;

  it('throws a sentence with the reason at the first call', () => {
    expect(() => stub.execute('x')).toThrow(SreUnavailableError);
    expect(() => stub.execute('x')).toThrow('Code is not available: no Code connector is configured');
    const error = (() => {
      try {
        stub.requester();
      } catch (e) {
        return e as SreUnavailableError;
      }
    })();
    expect(error?.subsystem).toBe('Code');
  });

  it('names a named instance', () => {
    const named = createUnavailableConnector('Code', 'lambda', 'why') as unknown as Anything;
    expect(() => named.deploy()).toThrow('Code[lambda] is not available: why');
  });

  it("is inert for Nest's lifecycle probes and for await", async () => {
    for (const probe of [
      'then',
      'onModuleInit',
      'onApplicationBootstrap',
      'onModuleDestroy',
      'beforeApplicationShutdown',
      'onApplicationShutdown',
      'toJSON',
      'constructor',
    ]) {
      expect(stub[probe]).toBeUndefined();
    }
    expect((stub as unknown as Record<symbol, unknown>)[Symbol.iterator]).toBeUndefined();
    await expect(Promise.resolve(stub)).resolves.toBe(stub);
    expect(JSON.parse(JSON.stringify(stub))).toEqual({
      unavailable: true,
      subsystem: 'Code',
      reason: 'no Code connector is configured',
    });
  });

  it('is recognisable', () => {
    expect(isUnavailableConnector(stub)).toBe(true);
    expect(isUnavailableConnector({})).toBe(false);
    expect(isUnavailableConnector(null)).toBe(false);
    expect(isUnavailableConnector('unavailable')).toBe(false);
  });
});
