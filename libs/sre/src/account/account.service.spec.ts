import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../core/backend';
import { SreConfigError, SreInvalidInputError } from '../core/errors';
import { checkConnectorOptions } from '../core/subsystem';
import { AccessCandidate } from '../security/access-candidate';
import { describeAccountBackend } from '../testing/account.contract';
import { backendOf } from '../testing/subsystem-module.testkit';
import { ACCOUNT, ACCOUNT_CONNECTORS, AccountModule, getAccountToken } from './account.module';
import { AccountService } from './account.service';
import { AccountData, DummyAccountConnector, DummyAccountSettings } from './connectors/dummy-account.connector';

// The shape of the original's jsonAccount test data (§3.4), adapted to DummyAccount.
const DATA: AccountData = {
  default: {
    users: { user1: { settings: { setting1: 'value1', theme: 'dark' } } },
    agents: { agent1: {} },
    settings: { 'custom-llm': '{"models":[]}', vault: 'default-vault' },
  },
  development: {
    users: { dev1: { settings: { role: 'developer' } } },
    agents: { 'dev-agent': { settings: { mode: 'debug', budget: 3, flags: { a: true } } } },
    settings: { vault: 'dev-vault', env: 'development' },
  },
  production: {
    users: { ops1: {} },
    agents: { 'prod-agent': {} },
    settings: { vault: 'prod-vault', env: 'production' },
  },
  // a user or agent named like a team (W11): its own id must never be read as a team id
  user1: { settings: { vault: 'WRONG-team-named-like-the-user' } },
};

function build(settings: Partial<DummyAccountSettings> = {}): AccountService {
  const all = Object.assign(new DummyAccountSettings(), { data: DATA }, settings);
  const context = createConnectorContext({ subsystem: 'Account', connector: 'DummyAccount' });
  return new AccountService(new DummyAccountConnector(all, context), context);
}

const user = AccessCandidate.user;
const agent = AccessCandidate.agent;
const team = AccessCandidate.team;

describeAccountBackend(
  'DummyAccount',
  (data) => new DummyAccountConnector(Object.assign(new DummyAccountSettings(), { data, fallbackTeam: null })),
);

describe('DummyAccount', () => {
  describe('with the default fallback team', () => {
    let account: AccountService;
    beforeAll(async () => {
      account = build();
      await account.connect();
    });

    it.each([
      ['user1', user('user1'), 'default'],
      ['team default', team('default'), 'default'],
      ['agent1', agent('agent1'), 'default'],
      ['an agent of development', agent('dev-agent'), 'development'],
      ['an agent of production', agent('prod-agent'), 'production'],
      ['a user of development', user('dev1'), 'development'],
      ['an unknown agent', agent('nobody'), 'default'],
      ['an unknown user', user('stranger'), 'default'],
      ['an unknown team (its own team)', team('acme'), 'acme'],
      ['the public', AccessCandidate.public(), undefined],
    ])('resolves %s to its team', async (_label, candidate, expected) => {
      await expect(account.getCandidateTeam(candidate)).resolves.toBe(expected);
      await expect(account.requester(candidate).getTeam()).resolves.toBe(expected);
    });

    it.each([
      ['default', user('user1'), true],
      ['default', user('stranger'), true],
      ['default', agent('prod-agent'), true],
      ['development', user('dev1'), true],
      ['development', agent('dev-agent'), true],
      ['production', user('dev1'), false],
      ['development', user('ops1'), false],
      ['development', user('stranger'), false],
      ['production', agent('nobody'), false],
      ['nosuchteam', user('user1'), false],
      ['acme', team('acme'), true],
      ['default', team('acme'), false],
      ['development', team('production'), false],
      ['default', AccessCandidate.public(), false],
    ])('isTeamMember(%s, %s) is %s, as a boolean', async (teamId, candidate, expected) => {
      const result = await account.isTeamMember(teamId, candidate);
      expect(result).toBe(expected);
      await expect(account.requester(candidate).isTeamMember(teamId)).resolves.toBe(expected);
    });

    it('reads team settings of the resolved team, never of a team named like the candidate (W11)', async () => {
      await expect(account.user('user1').getTeamSetting('vault')).resolves.toBe('default-vault');
      await expect(account.agent('dev-agent').getTeamSetting('vault')).resolves.toBe('dev-vault');
      await expect(account.team('production').getTeamSetting('env')).resolves.toBe('production');
      const all = await account.user('user1').getAllTeamSettings();
      expect(all).toContainEqual({ key: 'custom-llm', value: '{"models":[]}' });
      expect(all).not.toContainEqual(expect.objectContaining({ value: 'WRONG-team-named-like-the-user' }));
    });

    it('keeps teams apart: the same key differs per team', async () => {
      const values = await Promise.all(
        ['default', 'development', 'production'].map((id) => account.forTeam(id).getSetting('vault')),
      );
      expect(values).toEqual(['default-vault', 'dev-vault', 'prod-vault']);
    });

    it('returns undefined for missing settings and [] for unknown teams', async () => {
      await expect(account.forTeam('default').getSetting('missing')).resolves.toBeUndefined();
      await expect(account.forTeam('nosuchteam').getSetting('vault')).resolves.toBeUndefined();
      await expect(account.forTeam('nosuchteam').getAllSettings()).resolves.toEqual([]);
      await expect(account.user('user1').getUserSetting('missing')).resolves.toBeUndefined();
      await expect(account.user('stranger').getUserSetting('setting1')).resolves.toBeUndefined();
      await expect(account.agent('nobody').getAgentSetting('mode')).resolves.toBeUndefined();
      await expect(account.user('stranger').getAllUserSettings()).resolves.toEqual([]);
    });

    it('reads a user’s and an agent’s own settings only', async () => {
      await expect(account.user('user1').getAllUserSettings()).resolves.toEqual([
        { key: 'setting1', value: 'value1' },
        { key: 'theme', value: 'dark' },
      ]);
      await expect(account.user('user1').getUserSetting('setting1')).resolves.toBe('value1');
      await expect(account.agent('dev-agent').getAgentSetting('mode')).resolves.toBe('debug');
      // a candidate of another role never reads user or agent settings under its own id
      await expect(account.agent('dev-agent').getUserSetting('mode')).resolves.toBeUndefined();
      await expect(account.user('user1').getAgentSetting('setting1')).resolves.toBeUndefined();
      await expect(account.team('default').getAllUserSettings()).resolves.toEqual([]);
    });

    it('stores non-string setting values as their JSON text', async () => {
      await expect(account.agent('dev-agent').getAgentSetting('budget')).resolves.toBe('3');
      await expect(account.agent('dev-agent').getAgentSetting('flags')).resolves.toBe('{"a":true}');
    });

    it('gives trusted code an explicit per-team view', async () => {
      const dev = account.forTeam('development');
      await expect(dev.getSetting('env')).resolves.toBe('development');
      await expect(dev.getAllSettings()).resolves.toContainEqual({ key: 'vault', value: 'dev-vault' });
      await expect(dev.isMember(user('dev1'))).resolves.toBe(true);
      await expect(dev.isMember(user('ops1'))).resolves.toBe(false);
      expect(() => account.forTeam('../etc')).toThrow(SreInvalidInputError);
    });

    it('creates the fallback team when the data lacks it', async () => {
      const bare = new AccountService(
        new DummyAccountConnector(Object.assign(new DummyAccountSettings(), { data: {} })),
      );
      await expect(bare.forTeam('default').getAllSettings()).resolves.toEqual([]);
      await expect(bare.isTeamMember('default', user('anyone'))).resolves.toBe(true);
      await expect(bare.getCandidateTeam(agent('anyone'))).resolves.toBe('default');
    });
  });

  describe('with the fallback team disabled (W12)', () => {
    const account = build({ fallbackTeam: null });

    it('gives unlisted users and agents no team and no membership', async () => {
      await expect(account.getCandidateTeam(user('stranger'))).resolves.toBeUndefined();
      await expect(account.getCandidateTeam(agent('nobody'))).resolves.toBeUndefined();
      await expect(account.isTeamMember('default', user('stranger'))).resolves.toBe(false);
      await expect(account.user('stranger').getAllTeamSettings()).resolves.toEqual([]);
      await expect(account.user('stranger').getTeamSetting('vault')).resolves.toBeUndefined();
    });

    it('still resolves listed principals, and membership follows the listing', async () => {
      await expect(account.getCandidateTeam(user('user1'))).resolves.toBe('default');
      await expect(account.isTeamMember('default', user('user1'))).resolves.toBe(true);
      await expect(account.isTeamMember('default', agent('prod-agent'))).resolves.toBe(false);
    });
  });

  it('uses another fallback team when configured', async () => {
    const account = build({ fallbackTeam: 'production' });
    await expect(account.getCandidateTeam(user('stranger'))).resolves.toBe('production');
    await expect(account.isTeamMember('production', user('stranger'))).resolves.toBe(true);
    await expect(account.isTeamMember('default', user('stranger'))).resolves.toBe(false);
  });

  it('connects on first use and refuses work once closed', async () => {
    const account = build();
    expect(account.state).toBe('created');
    await expect(account.getCandidateTeam(user('user1'))).resolves.toBe('default');
    expect(account.state).toBe('ready');
    await account.disconnect();
    await expect(account.getCandidateTeam(user('user1'))).rejects.toThrow(/shut/);
    await expect(account.isTeamMember('default', user('user1'))).rejects.toThrow(/shut/);
  });

  it('refuses malformed data built directly', () => {
    expect(
      () => new DummyAccountConnector(Object.assign(new DummyAccountSettings(), { data: { t: { users: [] } } })),
    ).toThrow(/users must be an object/);
  });
});

describe('DummyAccount settings validation', () => {
  const check = (settings: unknown) => checkConnectorOptions(ACCOUNT, { connector: 'DummyAccount', settings }).problems;

  it('accepts nothing, data, and a null fallback', () => {
    expect(check(undefined)).toEqual([]);
    expect(check({ data: DATA, fallbackTeam: null })).toEqual([]);
    expect(check({ fallbackTeam: 'acme' })).toEqual([]);
  });

  it.each([
    [{ data: [] }, 'settings.data: must be an object of teams'],
    [{ data: { bad_team: {} } }, "team id 'bad_team' must use letters"],
    [{ data: { t: 'x' } }, "team 't' must be an object"],
    [{ data: { t: { user: {} } } }, "unknown field 'user'"],
    [{ data: { t: { agents: { 'a.b': {} } } } }, "agents id 'a.b'"],
    [{ data: { t: { users: { u: { settings: 'x' } } } } }, 'users.u.settings must be an object'],
    [{ data: { t: { settings: [] } } }, 'settings must be an object'],
    [{ fallbackTeam: 'not a team' }, 'settings.fallbackTeam: must use letters'],
    [{ fallbackTeam: 3 }, 'settings.fallbackTeam'],
    [{ other: 1 }, 'settings.other: unknown setting'],
  ])('reports %j', (settings, expected) => {
    const problems = check(settings);
    expect(problems.join('\n')).toContain(expected);
  });

  it('never echoes a setting value in a problem', () => {
    const problems = check({
      data: {
        t: { users: { u: { settings: 'SECRET-VALUE-123' } } },
        'bad team': { settings: { k: 'SECRET-VALUE-123' } },
      },
    });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).not.toContain('SECRET-VALUE-123');
  });

  it('registers DummyAccount and AWSAccount, and names the planned connectors', () => {
    expect(ACCOUNT_CONNECTORS.get('DummyAccount')).toBe(DummyAccountConnector);
    expect(ACCOUNT_CONNECTORS.entry('AWSAccount')?.sdk).toEqual([
      { package: '@aws-sdk/client-cognito-identity-provider', range: '^3' },
    ]);
    for (const name of ['MySQLAccount']) {
      expect(ACCOUNT_CONNECTORS.describeMissing(name)).toContain('not available in this version');
    }
  });
});

describe('AccountModule', () => {
  it('provides AccountService and the named token, connected at boot', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AccountModule.forRoot({ connector: 'DummyAccount', settings: { data: DATA, fallbackTeam: null } })],
    }).compile();
    const account = moduleRef.get(AccountService);
    expect(account).toBeInstanceOf(AccountService);
    expect(backendOf(account)).toBeInstanceOf(DummyAccountConnector);
    expect(moduleRef.get(getAccountToken())).toBe(account);
    expect(account.state).toBe('ready');
    await expect(account.getCandidateTeam(user('dev1'))).resolves.toBe('development');
    await moduleRef.close();
  });

  it('fails at boot with the settings problem', async () => {
    await expect(
      Test.createTestingModule({
        imports: [AccountModule.forRoot({ connector: 'DummyAccount', settings: { fallbackTeam: 'a/b' } })],
      }).compile(),
    ).rejects.toThrow(SreConfigError);
  });
});
