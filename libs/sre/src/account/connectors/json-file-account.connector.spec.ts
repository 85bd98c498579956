import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { describeAccountBackend } from '../../testing/account.contract';
import { ACCOUNT_CONNECTORS, AccountModule } from '../account.module';
import { AccountService } from '../account.service';
import { JSONFileAccountConnector, JSONFileAccountSettings } from './json-file-account.connector';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-json-account-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function writeJson(file: string, data: unknown): string {
  fs.writeFileSync(file, JSON.stringify(data));
  return file;
}

const warnings: string[] = [];
function make(settings: Partial<JSONFileAccountSettings>, dataDir?: string): JSONFileAccountConnector {
  const context = createConnectorContext({
    subsystem: 'Account',
    connector: 'JSONFileAccount',
    ...(dataDir ? { dataDir } : {}),
  });
  jest.spyOn(context.logger, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  jest.spyOn(context.logger, 'log').mockImplementation(() => undefined);
  return new JSONFileAccountConnector(Object.assign(new JSONFileAccountSettings(), settings), context);
}

async function until(check: () => boolean | Promise<boolean>, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for the change');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const user = AccessCandidate.user;
const agent = AccessCandidate.agent;
const team = AccessCandidate.team;

describeAccountBackend('JSONFileAccount', (seed) =>
  make({ file: writeJson(path.join(tempDir(), 'account.json'), seed), fallbackTeam: null, watch: false }),
);

describe('JSONFileAccount', () => {
  const open: JSONFileAccountConnector[] = [];
  const connect = async (connector: JSONFileAccountConnector): Promise<JSONFileAccountConnector> => {
    open.push(connector);
    await connector.connect();
    return connector;
  };
  beforeEach(() => (warnings.length = 0));
  afterEach(async () => {
    for (const connector of open.splice(0)) await connector.disconnect();
  });

  it('reads the original data model; unknown principals fall back to default, which need not exist (W52)', async () => {
    const file = writeJson(path.join(tempDir(), 'a.json'), {
      development: { users: { dev1: { settings: { role: 'dev' } } }, agents: { 'dev-agent': {} } },
    });
    const account = await connect(make({ file }));
    expect(account.getCandidateTeam(user('dev1'))).toBe('development');
    expect(account.getCandidateTeam(agent('nobody'))).toBe('default');
    expect(account.isTeamMember('default', user('stranger'))).toBe(true);
    expect(account.isTeamMember('default', team('development'))).toBe(false);
    expect(account.isTeamMember('production', user('dev1'))).toBe(false);
    await expect(account.getAllTeamSettings('default')).resolves.toEqual([]);
    await expect(account.getTeamSetting('default', 'k')).resolves.toBeUndefined();
    await expect(account.getUserSetting('dev1', 'role')).resolves.toBe('dev');
  });

  it('reads account.json in the data dir when file is unset', async () => {
    const dataDir = tempDir();
    writeJson(path.join(dataDir, 'account.json'), { acme: { users: { alice: {} } } });
    const account = await connect(make({ fallbackTeam: null }, dataDir));
    expect(account.file).toBe(path.join(dataDir, 'account.json'));
    expect(account.getCandidateTeam(user('alice'))).toBe('acme');
  });

  it('fails the connect for a missing, non-JSON or invalid file, naming the file, never a value', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"acme": {"settings": {"k": "SECRET-VALUE-1"}');
    writeJson(path.join(dir, 'invalid.json'), { 'bad team': { settings: { k: 'SECRET-VALUE-1' } } });
    for (const [name, expected] of [
      ['missing.json', /does not exist/],
      ['bad.json', /is not valid JSON/],
      ['invalid.json', /team id 'bad team'/],
    ] as const) {
      const error = await make({ file: path.join(dir, name) })
        .connect()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(SreConfigError);
      expect((error as Error).message).toMatch(expected);
      expect((error as Error).message).toContain(name);
      expect((error as Error).message).not.toContain('SECRET-VALUE-1');
    }
  });

  it('picks up changes to the file, also a file replaced by a rename', async () => {
    const dir = tempDir();
    const file = writeJson(path.join(dir, 'account.json'), { acme: { users: { alice: {} } } });
    const account = await connect(make({ file, fallbackTeam: null, debounceMs: 20 }));
    expect(account.getCandidateTeam(user('alice'))).toBe('acme');
    writeJson(file, { globex: { users: { alice: {} } } });
    await until(() => account.getCandidateTeam(user('alice')) === 'globex');
    writeJson(path.join(dir, 'next.tmp'), { initech: { users: { alice: {} } }, acme: { users: { bob: {} } } });
    fs.renameSync(path.join(dir, 'next.tmp'), file);
    await until(() => account.getCandidateTeam(user('alice')) === 'initech');
    expect(account.getCandidateTeam(user('bob'))).toBe('acme');
  });

  it('keeps the last good data when the new content is invalid, with a warning', async () => {
    const file = writeJson(path.join(tempDir(), 'account.json'), { acme: { users: { alice: {} } } });
    const account = await connect(make({ file, fallbackTeam: null, debounceMs: 20 }));
    fs.writeFileSync(file, '{ not json');
    await until(() => warnings.some((w) => w.includes('is not valid JSON')));
    writeJson(file, { acme: { users: 'SECRET-VALUE-2' } });
    await until(() => warnings.some((w) => w.includes('users must be an object')));
    fs.rmSync(file);
    await account.reload();
    expect(warnings.some((w) => w.includes('does not exist'))).toBe(true);
    expect(warnings.join('\n')).not.toContain('SECRET-VALUE-2');
    expect(account.getCandidateTeam(user('alice'))).toBe('acme');
    writeJson(file, { globex: { users: { alice: {} } } });
    await until(() => account.getCandidateTeam(user('alice')) === 'globex');
  });

  it('debounces a burst of changes into few reloads, and stops watching once disconnected', async () => {
    const file = writeJson(path.join(tempDir(), 'account.json'), { acme: { users: { alice: {} } } });
    const account = await connect(make({ file, fallbackTeam: null, debounceMs: 50 }));
    const reload = jest.spyOn(account, 'reload');
    for (let i = 0; i < 10; i++) writeJson(file, { [`t${i}`]: { users: { alice: {} } } });
    await until(() => account.getCandidateTeam(user('alice')) === 't9');
    expect(reload.mock.calls.length).toBeLessThanOrEqual(3);
    await account.disconnect();
    writeJson(file, { later: { users: { alice: {} } } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(account.getCandidateTeam(user('alice'))).toBe('t9');
  });

  it('does not watch with watch: false until reload() is called', async () => {
    const file = writeJson(path.join(tempDir(), 'account.json'), { acme: { users: { alice: {} } } });
    const account = await connect(make({ file, fallbackTeam: null, watch: false }));
    writeJson(file, { globex: { users: { alice: {} } } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(account.getCandidateTeam(user('alice'))).toBe('acme');
    await account.reload();
    expect(account.getCandidateTeam(user('alice'))).toBe('globex');
  });

  it('is registered and boots by name through AccountModule', async () => {
    expect(ACCOUNT_CONNECTORS.get('JSONFileAccount')).toBe(JSONFileAccountConnector);
    const file = writeJson(path.join(tempDir(), 'account.json'), { acme: { agents: { 'bot-1': {} } } });
    const moduleRef = await Test.createTestingModule({
      imports: [AccountModule.forRoot({ connector: 'JSONFileAccount', settings: { file, watch: false } })],
    }).compile();
    await moduleRef.init();
    const account = moduleRef.get(AccountService);
    await expect(account.getCandidateTeam(agent('bot-1'))).resolves.toBe('acme');
    await moduleRef.close();
  });
});
