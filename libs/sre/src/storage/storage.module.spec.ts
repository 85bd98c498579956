import { Injectable, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SreConfigError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { LocalStorageConnector } from './connectors/local-storage.connector';
import { InjectStorage } from './storage.decorators';
import { StorageModule } from './storage.module';
import { StorageService } from './storage.service';

@Injectable()
class Files {
  constructor(
    readonly storage: StorageService,
    @InjectStorage('archive') readonly archive: StorageService,
  ) {}
}

describe('StorageModule with LocalStorage', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-storage-module-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('provides the default and a named instance, each in its own folder, and closes them on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
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
    expect(files.storage).toBeInstanceOf(LocalStorageConnector);
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
      imports: [StorageModule.forRoot({ connector: 'LocalStorage', dataDir: dir })],
    }).compile();
    const app = await moduleRef.init();
    expect(app.get(StorageService)).toMatchObject({ folder: path.join(dir, 'storage') });
    await app.close();
  });

  it('fails at boot with every settings problem named, and without retrying an unusable folder', async () => {
    const bad = Test.createTestingModule({
      imports: [
        StorageModule.forRoot({ connector: 'LocalStorage', settings: { folder: 42, fsync: 'no', region: 'x' } }),
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
