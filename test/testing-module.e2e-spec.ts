import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AccessCandidate,
  CacheService,
  LogService,
  NKVService,
  SUBSYSTEMS,
  SreHealthService,
  StorageService,
  VaultService,
} from 'nestjs-sre';
import { MemoryLogBackend, MemoryStorageBackend, MemoryVaultBackend, SreTestingModule } from 'nestjs-sre/testing';

/** A service of the user's app, as the README's testing example has it. */
@Injectable()
class ReportsService {
  constructor(
    private readonly storage: StorageService,
    private readonly vault: VaultService,
  ) {}

  async publish(teamId: string, name: string, text: string): Promise<string | undefined> {
    const team = AccessCandidate.team(teamId);
    const signature = await this.vault.requester(team).get('signing-key');
    await this.storage.requester(team).write(`teams/${teamId}/reports/${name}`, `${text}\n-- ${signature}`);
    return (await this.storage.requester(team).read(`teams/${teamId}/reports/${name}`))?.toString('utf8');
  }
}

describe('SreTestingModule (nestjs-sre/testing)', () => {
  const cwd = process.cwd();
  let scratch: string;

  beforeEach(() => {
    // any file a subsystem wrote would land here (data dir) or in HOME (vault search)
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-testing-'));
    process.chdir(scratch);
  });

  afterEach(() => {
    process.chdir(cwd);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('gives every subsystem an in-memory backend: all fourteen up, no file touched', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SreTestingModule.forRoot()] }).compile();
    const health = await moduleRef.get(SreHealthService).check();
    expect(health.map((entry) => entry.subsystem).sort()).toEqual([...SUBSYSTEMS].sort());
    expect(health.filter((entry) => entry.status !== 'up')).toEqual([]);
    const alice = AccessCandidate.user('alice');
    await moduleRef.get(CacheService).requester(alice).set('k', 'v');
    await expect(moduleRef.get(CacheService).requester(alice).get('k')).resolves.toBe('v');
    await moduleRef.get(NKVService).requester(alice).set('ns', 'k', { n: 1 });
    await expect(moduleRef.get(NKVService).requester(alice).get('ns', 'k')).resolves.toEqual({ n: 1 });
    await moduleRef.close();
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it("runs the user's own services over the memory backends, with seeded secrets", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreTestingModule.forRoot({
          Vault: {
            Connector: { useFactory: () => new MemoryVaultBackend({ teams: { acme: { 'signing-key': 'K-1' } } }) },
          },
        }),
      ],
      providers: [ReportsService],
    }).compile();
    await expect(moduleRef.get(ReportsService).publish('acme', 'q1.txt', 'revenue up')).resolves.toBe(
      'revenue up\n-- K-1',
    );
    // another team can neither read it nor create under acme's scope
    const rival = moduleRef.get(StorageService).requester(AccessCandidate.team('rival'));
    await expect(rival.read('teams/acme/reports/q1.txt')).rejects.toThrow('Access Denied');
    await moduleRef.close();
  });

  it('lets a test hold the backend it passed in, to inspect what the code did', async () => {
    const storage = new MemoryStorageBackend();
    const log = new MemoryLogBackend();
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreTestingModule.forRoot({
          Storage: { Connector: { useFactory: () => storage } },
          Log: { Connector: { useFactory: () => log } },
        }),
      ],
    }).compile();
    await moduleRef.get(StorageService).team('acme').write('a.txt', 'hello');
    expect((await storage.stat('a.txt'))?.size).toBe(5);
    await moduleRef.get(LogService).agent('bot-1').log({ sourceId: 'x', input: 'hi' });
    expect(log.entries).toHaveLength(1);
    await moduleRef.close();
  });

  it('still lets overrideProvider replace a service outright', async () => {
    const fake = { requester: () => ({ read: async () => Buffer.from('fake') }) };
    const moduleRef = await Test.createTestingModule({ imports: [SreTestingModule.forRoot()] })
      .overrideProvider(StorageService)
      .useValue(fake)
      .compile();
    expect(moduleRef.get(StorageService)).toBe(fake);
    await moduleRef.close();
  });
});

// The README's "Test it" example, as printed there.
describe('ReportsService', () => {
  it('signs and stores a report where only its team can read it', async () => {
    const storage = new MemoryStorageBackend();
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreTestingModule.forRoot({
          Vault: {
            Connector: { useFactory: () => new MemoryVaultBackend({ teams: { acme: { 'signing-key': 'K-1' } } }) },
          },
          Storage: { Connector: { useFactory: () => storage } },
        }),
      ],
      providers: [ReportsService],
    }).compile();

    await moduleRef.get(ReportsService).publish('acme', 'q1.txt', 'revenue up');

    const files = moduleRef.get(StorageService);
    expect((await files.team('acme').read('teams/acme/reports/q1.txt'))?.toString()).toBe('revenue up\n-- K-1');
    await expect(files.team('rival').read('teams/acme/reports/q1.txt')).rejects.toThrow('Access Denied');
    expect((await storage.stat('teams/acme/reports/q1.txt'))?.size).toBe(17);
    await moduleRef.close();
  });
});
