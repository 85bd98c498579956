import { Injectable, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SreConfigError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { MemoryStorageBackend } from '../testing/backends/memory-storage.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { LocalStorageConnector } from './connectors/local-storage.connector';
import { getStorageToken, InjectStorage, STORAGE, STORAGE_CONNECTORS, StorageModule } from './storage.module';
import { StorageService } from './storage.service';

const TEAMS: Record<string, string> = { alice: 'acme', bob: 'acme', eve: 'rivals' };

@Injectable()
class Files {
  constructor(
    readonly storage: StorageService,
    @InjectStorage('archive') readonly archive: StorageService,
  ) {}
}

describe('StorageModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryStorageBackend, StorageService>(
    STORAGE,
    StorageModule,
    InjectStorage,
    {
      connector: MemoryStorageBackend,
      planned: [],
      unknownName: 'GoogleCloudStorage',
      available: ['LocalStorage', 'S3'],
      imports: [fakeAccountModule(TEAMS)],
    },
  );

  it('exports the registry and token of its declaration, and registers S3 with its SDK', () => {
    expect(STORAGE_CONNECTORS).toBe(STORAGE.registry);
    expect(getStorageToken('x')).toBe('SreStorage:x');
    expect(STORAGE.registry.entry('S3')?.sdk).toEqual([{ package: '@aws-sdk/client-s3', range: '^3' }]);
  });

  it('refuses to boot without the Account subsystem, in a sentence', async () => {
    const error = await Test.createTestingModule({
      imports: [StorageModule.forRoot({ connector: MemoryStorageBackend })],
    })
      .compile()
      .then(
        (moduleRef) => moduleRef.close().then(() => new Error('the module booted')),
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain('needs the Account subsystem (team resolution)');
  });

  describe('the booted service', () => {
    const storage = useConnector();

    it('decides team grants with the teams the Account module resolves', async () => {
      await storage()
        .user('alice')
        .write('report', 'numbers', new ACL().addAccess('team', 'acme', 'read'));
      expect((await storage().user('bob').read('report'))?.toString()).toBe('numbers');
      await expect(storage().user('eve').read('report')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    });
  });

  describe('with LocalStorage', () => {
    let dir: string;

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-storage-module-'));
    });

    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('provides the default and a named instance, each in its own folder, and closes them on shutdown', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          fakeAccountModule(TEAMS),
          StorageModule.forRoot({ connector: 'LocalStorage', settings: { folder: path.join(dir, 'main') } }),
          StorageModule.forRootAsync({
            name: 'archive',
            useFactory: async () => ({
              connector: 'LocalStorage',
              settings: { folder: path.join(dir, 'archive'), fsync: false },
            }),
          }),
        ],
        providers: [Files],
      }).compile();
      const app = await moduleRef.init();
      const files = app.get(Files);
      expect(files.storage).toBeInstanceOf(StorageService);
      expect(backendOf(files.storage)).toBeInstanceOf(LocalStorageConnector);
      expect(files.archive).not.toBe(files.storage);
      const team = AccessCandidate.team('acme');
      await files.storage.requester(team).write('a.txt', 'main');
      await files.archive.requester(team).write('a.txt', 'archive');
      expect(fs.readFileSync(path.join(dir, 'main', 'local', 'a.txt'), 'utf8')).toBe('main');
      expect(fs.readFileSync(path.join(dir, 'archive', 'local', 'a.txt'), 'utf8')).toBe('archive');
      await app.close();
      expect(files.storage.state).toBe('closed');
      expect(files.archive.state).toBe('closed');
    });

    it('defaults the folder to <dataDir>/storage', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [fakeAccountModule(TEAMS), StorageModule.forRoot({ connector: 'LocalStorage', dataDir: dir })],
      }).compile();
      const app = await moduleRef.init();
      expect(backendOf(app.get(StorageService))).toMatchObject({ folder: path.join(dir, 'storage') });
      await app.close();
    });

    it('fails at boot with every settings problem named, and without retrying an unusable folder', async () => {
      const bad = Test.createTestingModule({
        imports: [
          fakeAccountModule(TEAMS),
          StorageModule.forRoot({
            connector: 'LocalStorage',
            settings: { folder: 42, fsync: 'no', region: 'x' } as never,
          }),
        ],
      }).compile();
      await expect(bad).rejects.toThrow(SreConfigError);
      const error = (await bad.catch((e: unknown) => e)) as SreConfigError;
      expect([...error.problems].sort()).toEqual([
        'Storage(LocalStorage).settings.folder: must be a string',
        'Storage(LocalStorage).settings.fsync: must be a boolean value',
        'Storage(LocalStorage).settings.region: unknown setting',
      ]);

      fs.writeFileSync(path.join(dir, 'file'), 'x');
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const blocked = Test.createTestingModule({
        imports: [
          fakeAccountModule(TEAMS),
          StorageModule.forRoot({ connector: 'LocalStorage', settings: { folder: path.join(dir, 'file', 'sub') } }),
        ],
      }).compile();
      await expect(blocked).rejects.toThrow(
        /cannot create or write the storage folder given by settings\.folder \(ENOTDIR\)/,
      );
      expect(warn.mock.calls.filter(([message]) => /connect failed/.test(String(message)))).toEqual([]);
      warn.mockRestore();
    });
  });
});
