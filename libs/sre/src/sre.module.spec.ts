import { SreConfigError } from './core/errors';
import type { ResolvedConnectorOptions } from './core/subsystem';
import { resolveSreConfig } from './sre.module';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof SreConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected an SreConfigError');
}

describe('resolveSreConfig', () => {
  it('fills the seed defaults for every subsystem left out', () => {
    const resolved = resolveSreConfig({}, { dataDir: '/tmp/sre-data' });
    const storage = resolved.get('Storage') as ResolvedConnectorOptions;
    expect(storage).toMatchObject({
      kind: 'connector',
      connectorName: 'LocalStorage',
      instance: 'default',
      dataDir: '/tmp/sre-data',
    });
    expect(resolved.get('Cache')).toMatchObject({ kind: 'connector', connectorName: 'RAM' });
    expect(resolved.get('Vault')).toMatchObject({ kind: 'connector', connectorName: 'JSONFileVault' });
    expect(resolved.get('Account')).toMatchObject({ kind: 'connector', connectorName: 'DummyAccount' });
    expect(resolved.get('Log')).toMatchObject({ kind: 'connector', connectorName: 'ConsoleLog' });
  });

  it('marks subsystems without an available default as unavailable, saying why', () => {
    const resolved = resolveSreConfig({});
    expect(resolved.get('VectorDB')).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining("default connector 'RAMVec' is not available"),
    });
    expect(resolved.get('Code')).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining('not configured'),
    });
    expect(resolved.get('Storage', 'nope')).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringContaining("no Storage entry with Id 'nope'"),
    });
  });

  it('accepts the seed format with Settings, and validates them', () => {
    const resolved = resolveSreConfig({ Storage: { Connector: 'LocalStorage', Settings: { folder: '/tmp/x' } } });
    expect((resolved.get('Storage') as ResolvedConnectorOptions).settings).toMatchObject({ folder: '/tmp/x' });
  });

  it('reports every problem of every subsystem at once', () => {
    const problems = problemsOf(() =>
      resolveSreConfig({
        Storage: { Connector: 'LocalStorage', Settings: { folder: 1 as unknown as string } },
        Cache: { Connector: 'Nope' },
        Vault: { Connector: 'JSONFileVault', settings: {} } as never,
        Account: {} as never,
        Bogus: { Connector: 'X' },
      } as never),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Bogus: unknown subsystem/),
        expect.stringMatching(/^Storage\(LocalStorage\)\.settings\.folder: /),
        expect.stringMatching(/^Cache: unknown connector 'Nope'/),
        expect.stringMatching(/^Vault\.settings: unknown key/),
        expect.stringMatching(/^Account\.Connector: is required/),
      ]),
    );
  });

  it('lists of entries: Default picks the primary, others need unique Ids', () => {
    const resolved = resolveSreConfig({
      Storage: [
        { Connector: 'LocalStorage', Id: 'a', Settings: { folder: '/tmp/a' } },
        { Connector: 'LocalStorage', Id: 'b', Default: true, Settings: { folder: '/tmp/b' } },
      ],
    });
    expect((resolved.get('Storage') as ResolvedConnectorOptions).settings).toMatchObject({ folder: '/tmp/b' });
    expect((resolved.get('Storage', 'a') as ResolvedConnectorOptions).settings).toMatchObject({ folder: '/tmp/a' });
    expect(
      problemsOf(() =>
        resolveSreConfig({
          Storage: [
            { Connector: 'LocalStorage', Id: 'a', Default: true },
            { Connector: 'LocalStorage', Id: 'a', Default: true },
            { Connector: 'LocalStorage' },
          ],
        }),
      ),
    ).toEqual(
      expect.arrayContaining([
        'Storage: more than one entry has Default: true',
        "Storage[1].Id: 'a' is used twice",
        'Storage[2]: every entry but the default one needs an Id',
      ]),
    );
  });

  it('an async config may only define named instances declared up front', () => {
    const config = { Storage: [{ Connector: 'LocalStorage' }, { Connector: 'LocalStorage', Id: 'late' }] };
    expect(problemsOf(() => resolveSreConfig(config, {}, {}))).toEqual([
      "Storage[1]: named instance 'late' must be declared in SreModule.forRootAsync({ instances: { Storage: ['late'] } })",
    ]);
    expect(resolveSreConfig(config, {}, { Storage: ['late'] }).get('Storage', 'late')).toMatchObject({
      kind: 'connector',
    });
  });

  it('rejects a config that is not an object', () => {
    expect(problemsOf(() => resolveSreConfig([] as never))).toHaveLength(1);
  });
});
