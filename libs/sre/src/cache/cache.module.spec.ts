import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { ACL } from '../security/acl';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { CACHE, CacheModule, getCacheToken, InjectCache } from './cache.module';
import { CacheService } from './cache.service';
import { RAMCacheConnector, type RAMCacheSettings } from './connectors/ram.connector';

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };
const account = fakeAccountModule(TEAMS);

describe('CacheModule', () => {
  describeSubsystemModule(CACHE, CacheModule, InjectCache, {
    connector: RAMCacheConnector,
    available: ['RAM', 'Redis', 'LocalStorage', 'S3'],
    planned: [],
    unknownName: 'Memcached',
    imports: [account],
  });

  it('provides RAM by name, named instances, and closes them with the app', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        account,
        CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 10 } }),
        CacheModule.forRoot({ name: 'sessions', connector: 'RAM' }),
      ],
    }).compile();
    const cache = moduleRef.get(CacheService);
    const sessions = moduleRef.get<CacheService>(getCacheToken('sessions'));
    expect(cache).toBeInstanceOf(CacheService);
    expect(backendOf(cache)).toBeInstanceOf(RAMCacheConnector);
    expect(backendOf<RAMCacheConnector>(sessions)).not.toBe(backendOf(cache));
    expect(cache.state).toBe('ready');
    expect(moduleRef.get(getCacheToken())).toBe(cache);
    expect(sessions).not.toBe(cache);
    expect(sessions.instanceName).toBe('sessions');

    // team resolution comes from the injected Account subsystem
    await cache.agent('a1').set('k', 'v', new ACL().addAccess('team', 'team-b', 'read'));
    await cache.agent('a1').set('teams/team-a/k', 'v');
    expect(await cache.agent('b1').get('k')).toBe('v');
    await expect(cache.agent('b1').get('teams/team-a/k')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(sessions.agent('b1').get('k')).resolves.toBeUndefined();

    await moduleRef.close();
    expect(cache.state).toBe('closed');
    expect(sessions.state).toBe('closed');
  });

  it('fails at boot with every settings problem', async () => {
    // what a JSON config can hold: the typed forRoot refuses the unknown key at compile time
    const settings = { maxEntries: 0, prefix: 'x' } as unknown as RAMCacheSettings;
    const error = await Test.createTestingModule({
      imports: [account, CacheModule.forRoot({ connector: 'RAM', settings })],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreConfigError);
    expect([...(error as SreConfigError).problems].sort()).toEqual([
      expect.stringMatching(/^Cache\(RAM\)\.settings\.maxEntries: /),
      'Cache(RAM).settings.prefix: unknown setting',
    ]);
  });

  it('fails at boot with a sentence when no Account subsystem resolves teams', async () => {
    const error = await Test.createTestingModule({ imports: [CacheModule.forRoot({ connector: 'RAM' })] })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain('Cache(RAM): needs the Account subsystem (team resolution)');
  });
});
