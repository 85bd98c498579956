import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { ACL } from '../security/acl';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { RAMCacheConnector } from './connectors/ram.connector';
import { InjectCache } from './cache.decorators';
import { CacheModule } from './cache.module';
import { CACHE_DEFINITION } from './cache.registry';
import { CacheService } from './cache.service';
import { getCacheToken } from './cache.tokens';

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };

describe('CacheModule', () => {
  describeSubsystemModule(CACHE_DEFINITION, CacheModule, InjectCache, {
    connector: RAMCacheConnector,
    available: ['RAM'],
    planned: ['Redis', 'LocalStorage', 'S3'],
    unknownName: 'Memcached',
  });

  it('provides RAM by name, named instances, and closes them with the app', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        fakeAccountModule(TEAMS),
        CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 10 } }),
        CacheModule.forRoot({ name: 'sessions', connector: 'RAM' }),
      ],
    }).compile();
    const cache = moduleRef.get(CacheService);
    const sessions = moduleRef.get<CacheService>(getCacheToken('sessions'));
    expect(cache).toBeInstanceOf(RAMCacheConnector);
    expect(cache.state).toBe('ready');
    expect(moduleRef.get(getCacheToken())).toBe(cache);
    expect(sessions).not.toBe(cache);
    expect(sessions.instanceName).toBe('sessions');

    // team resolution comes from the injected Account subsystem
    await cache.agent('a1').set('k', 'v', new ACL().addAccess('team', 'team-b', 'read'));
    await cache.agent('a1').set('teams/team-a/k', 'v');
    expect(await cache.agent('b1').get('k')).toBe('v');
    await expect(cache.agent('b1').get('teams/team-a/k')).rejects.toBeInstanceOf(SreAccessDeniedError);

    await moduleRef.close();
    expect(cache.state).toBe('closed');
    expect(sessions.state).toBe('closed');
  });

  it('fails at boot with every settings problem', async () => {
    const error = await Test.createTestingModule({
      imports: [CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 0, prefix: 'x' } })],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreConfigError);
    expect([...(error as SreConfigError).problems].sort()).toEqual([
      expect.stringMatching(/^Cache\(RAM\)\.settings\.maxEntries: /),
      'Cache(RAM).settings.prefix: unknown setting',
    ]);
  });
});
