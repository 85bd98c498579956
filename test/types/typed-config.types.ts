/**
 * Type-level tests, run by `npm run typecheck` (tsc): every `@ts-expect-error` line must be an
 * error, or tsc fails with "Unused '@ts-expect-error' directive". The lines without it must compile.
 * Nothing here runs.
 */
import { Injectable, InjectionToken } from '@nestjs/common';
import {
  CacheModule,
  LogModule,
  SreCacheModule,
  SreModule,
  SreRouterModule,
  SreStorageModule,
  StorageModule,
  VaultModule,
  type ConnectorContext,
  type SreConfig,
  type SreConfigFactory,
  type StorageBackend,
} from 'nestjs-sre';

declare const myBackend: StorageBackend;
declare class MyStorage implements StorageBackend {
  constructor(settings: { bucket: string }, context: ConnectorContext);
  stat: StorageBackend['stat'];
  read: StorageBackend['read'];
  readStream: StorageBackend['readStream'];
  stage: StorageBackend['stage'];
  writeHeader: StorageBackend['writeHeader'];
  delete: StorageBackend['delete'];
}
const CLIENT: InjectionToken = 'MyClient';
class StorageConfigLike {
  createConnectorOptions() {
    return { connector: 'LocalStorage' as const };
  }
}

// ---- SreModule.forRoot: the seed format ---------------------------------------------------------

SreModule.forRoot({
  Storage: { Connector: 'LocalStorage', Settings: { folder: './data', fsync: false } },
  Cache: { Connector: 'RAM', Settings: { maxEntries: 10, maxSizeMB: 64 } },
  Vault: { Connector: 'JSONFileVault', Settings: { shared: 'development' } },
  Log: { Connector: 'ConsoleLog' },
  Account: { Connector: 'DummyAccount', Settings: { fallbackTeam: null } },
});

// a list with named instances, and the user's own class and DI factory
SreModule.forRoot({
  Storage: [
    { Connector: 'LocalStorage', Default: true },
    { Connector: MyStorage, Id: 'archive', Settings: { bucket: 'b' } },
    { Connector: { useFactory: () => myBackend }, Id: 'memory' },
  ],
});

// the seed's production configuration compiles as written (planned connectors take any settings)
const seedProduction: SreConfig = {
  Vault: {
    Connector: 'SecretsManager',
    Settings: { region: 'us-east-1', awsAccessKeyId: process.env.AWS_ACCESS_KEY_ID },
  },
  Cache: {
    Connector: 'Redis',
    Settings: { name: 'mymaster', password: process.env.REDIS_PASSWORD, hosts: 'localhost:6379' },
  },
  Storage: { Connector: 'S3', Settings: { region: 'us-east-1', bucket: 'production-storage' } },
  Router: { Connector: 'ExpressRouter', Settings: { router: {}, baseUrl: '/api' } },
};
SreModule.forRoot(seedProduction);

// @ts-expect-error a misspelt connector name
SreModule.forRoot({ Storage: { Connector: 'LocalStorge' } });

// @ts-expect-error a misspelt setting
SreModule.forRoot({ Storage: { Connector: 'LocalStorage', Settings: { foldr: './data' } } });

// @ts-expect-error a setting of the wrong type
SreModule.forRoot({ Storage: { Connector: 'LocalStorage', Settings: { folder: 1 } } });

// @ts-expect-error a connector of another subsystem
SreModule.forRoot({ Cache: { Connector: 'JSONFileVault' } });

// @ts-expect-error an unknown subsystem
SreModule.forRoot({ Storag: { Connector: 'LocalStorage' } });

// @ts-expect-error an unknown entry key
SreModule.forRoot({ Storage: { Connector: 'LocalStorage', Setings: {} } });

// @ts-expect-error a class that is not a Storage backend
SreModule.forRoot({ Storage: { Connector: class NotABackend {} } });

// ---- SreModule options and forRootAsync ---------------------------------------------------------

SreModule.forRoot({}, { exceptionFilter: false, dataDir: './data' });

// @ts-expect-error exceptionFilter is a boolean
SreModule.forRoot({}, { exceptionFilter: 'no' });

@Injectable()
class SreConfigFromClass implements SreConfigFactory {
  createSreConfig(): SreConfig {
    return { Storage: { Connector: 'LocalStorage' } };
  }
}
SreModule.forRootAsync({ useClass: SreConfigFromClass, exceptionFilter: false });
SreModule.forRootAsync({ useExisting: SreConfigFromClass });
SreModule.forRootAsync({ useFactory: async () => ({ Cache: { Connector: 'RAM' as const } }) });

// @ts-expect-error a useClass must have createSreConfig()
SreModule.forRootAsync({ useClass: StorageConfigLike });

// ---- XModule.forRoot / forRootAsync --------------------------------------------------------------

// the clash-free names are the same classes, with the same typed options
SreCacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 100 } });
SreStorageModule.forRoot({ connector: 'LocalStorage', settings: { folder: './data' } });
SreRouterModule.forRoot({ connector: 'ExpressRouter', settings: { baseUrl: '/api' } });

// @ts-expect-error a misspelt setting, under the Sre* name too
SreCacheModule.forRoot({ connector: 'RAM', settings: { maxEntriez: 100 } });

StorageModule.forRoot({ connector: 'LocalStorage', settings: { folder: './data', sweepIntervalSeconds: 60 } });
StorageModule.forRoot({ connector: MyStorage, settings: { bucket: 'x' }, name: 'archive', isGlobal: true });
StorageModule.forRoot({
  connector: { useFactory: (client: unknown) => (client ? myBackend : myBackend), inject: [CLIENT] },
});
StorageModule.forRoot({ connector: 'LocalStorage', uses: { account: 'corp' } });
CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 100 }, lazyConnect: true });
LogModule.forRoot({ connector: 'ConsoleLog' });
VaultModule.forRoot({ connector: 'NullVault' });

// @ts-expect-error a misspelt connector name
StorageModule.forRoot({ connector: 'LocalStorge' });

// @ts-expect-error a misspelt setting
StorageModule.forRoot({ connector: 'LocalStorage', settings: { foldr: './data' } });

// @ts-expect-error a setting of the wrong type
CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 'many' } });

// @ts-expect-error settings of another connector of the same subsystem
CacheModule.forRoot({ connector: 'RAM', settings: { folder: './x' } });

// @ts-expect-error `uses` names only the subsystems this one depends on
StorageModule.forRoot({ connector: 'LocalStorage', uses: { vault: 'x' } });

// @ts-expect-error a factory connector takes no settings
StorageModule.forRoot({ connector: { useFactory: () => myBackend }, settings: { folder: 'x' } });

@Injectable()
class StorageConfig {
  createConnectorOptions() {
    return { connector: 'LocalStorage' as const, settings: { folder: './data' } };
  }
}
StorageModule.forRootAsync({ useClass: StorageConfig });
StorageModule.forRootAsync({
  useFactory: async () => ({ connector: 'LocalStorage' as const, settings: { fsync: true } }),
});

// @ts-expect-error the factory's options are checked too
StorageModule.forRootAsync({ useFactory: () => ({ connector: 'LocalStorage' as const, settings: { foldr: 'x' } }) });

export {};
