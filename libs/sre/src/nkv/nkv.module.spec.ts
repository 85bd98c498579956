import { Test } from '@nestjs/testing';
import { SreConfigError } from '../core/errors';
import { MemoryNKVBackend } from '../testing/backends/memory-nkv.backend';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectNKV, NKV, NKV_CONNECTORS, NKVModule, getNKVToken } from './nkv.module';
import { NKVService } from './nkv.service';

const TEAMS: Record<string, string> = { alice: 'team-a', anna: 'team-a', bob: 'team-b' };

describe('NKVModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryNKVBackend, NKVService>(NKV, NKVModule, InjectNKV, {
    connector: MemoryNKVBackend,
    planned: [],
    available: ['LocalStorage', 'Redis', 'RAM'],
    unknownName: 'Nope',
    imports: [fakeAccountModule(TEAMS)],
  });

  it('exports the registry and token of its declaration', () => {
    expect(NKV_CONNECTORS).toBe(NKV.registry);
    expect(getNKVToken('x')).toBe('SreNKV:x');
    expect(NKV.registry.entry('Redis')?.sdk).toEqual([{ package: 'ioredis', range: '^6' }]);
  });

  it('refuses to boot without the Account subsystem, in a sentence', async () => {
    const error = await Test.createTestingModule({ imports: [NKVModule.forRoot({ connector: MemoryNKVBackend })] })
      .compile()
      .then(
        (moduleRef) => moduleRef.close().then(() => new Error('the module booted')),
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain('needs the Account subsystem (team resolution)');
  });

  describe('the booted service', () => {
    const nkv = useConnector(fakeAccountModule(TEAMS));

    it('scopes the injected service to teams resolved by the Account module', async () => {
      await nkv().user('alice').set('shared', 'k', { n: 1 });
      expect(await nkv().user('anna').get('shared', 'k')).toEqual({ n: 1 });
      expect(await nkv().user('bob').get('shared', 'k')).toBeUndefined();
      expect(await nkv().agent('anna').list('shared')).toEqual([{ key: 'k', data: { n: 1 } }]);
    });
  });
});
