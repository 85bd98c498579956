import type { AccountBackend } from '../account/account.backend';
import { AccountService } from '../account/account.service';
import { createConnectorContext } from '../core/backend';
import { SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';

/** The accounts a suite asks the backend to serve: the original's data model (teams → users, agents, settings). */
export type AccountSeed = Record<
  string,
  {
    users?: Record<string, { settings?: Record<string, string> }>;
    agents?: Record<string, { settings?: Record<string, string> }>;
    settings?: Record<string, string>;
  }
>;

export interface AccountBackendSuiteOptions {
  timeoutMs?: number;
}

/** Two teams, a user and an agent in each, and a principal no team lists. */
export const ACCOUNT_FIXTURE: AccountSeed = {
  acme: {
    users: { alice: { settings: { theme: 'dark' } } },
    agents: { 'bot-1': { settings: { mode: 'fast' } } },
    settings: { vault: 'acme-vault', region: 'eu' },
  },
  globex: {
    users: { bob: { settings: { theme: 'light' } } },
    agents: { 'bot-2': {} },
    settings: { vault: 'globex-vault' },
  },
  // a team named like a user: its settings must never be read for that user (W11)
  carol: { settings: { vault: 'WRONG-team-named-like-a-user' } },
};

const user = AccessCandidate.user;
const agent = AccessCandidate.agent;
const team = AccessCandidate.team;

/**
 * The contract of every Account connector: `makeBackend(seed)` returns a backend serving exactly
 * those accounts (principals no team lists belong to no team). Backend-level lookups first, then
 * the service's rules over the same backend: requester calls act on the candidate's resolved team,
 * and a team id the backend answers is checked against the id grammar.
 */
export function describeAccountBackend(
  label: string,
  makeBackend: (seed: AccountSeed) => AccountBackend | Promise<AccountBackend>,
  options: AccountBackendSuiteOptions = {},
): void {
  const timeout = options.timeoutMs ?? 10_000;

  describe(`${label} (Account backend contract)`, () => {
    let backend: AccountBackend;
    let service: AccountService;

    beforeEach(async () => {
      backend = await makeBackend(ACCOUNT_FIXTURE);
      const context = createConnectorContext({ subsystem: 'Account', connector: label });
      service = new AccountService(backend, context);
      await service.connect();
    }, timeout);

    afterEach(() => service.disconnect(), timeout);

    describe('backend', () => {
      it('resolves each principal to the team listing it; a team is its own team', async () => {
        expect(await backend.getCandidateTeam(user('alice'))).toBe('acme');
        expect(await backend.getCandidateTeam(agent('bot-2'))).toBe('globex');
        expect(await backend.getCandidateTeam(team('globex'))).toBe('globex');
        expect(await backend.getCandidateTeam(user('nobody'))).toBeUndefined();
      });

      it('answers membership per team', async () => {
        expect(await backend.isTeamMember('acme', user('alice'))).toBe(true);
        expect(await backend.isTeamMember('globex', user('alice'))).toBe(false);
        expect(await backend.isTeamMember('acme', agent('bot-1'))).toBe(true);
        expect(await backend.isTeamMember('acme', team('acme'))).toBe(true);
        expect(await backend.isTeamMember('acme', team('globex'))).toBe(false);
        expect(await backend.isTeamMember('acme', user('nobody'))).toBe(false);
      });

      it('reads team, user and agent settings, undefined or [] when missing', async () => {
        expect(await backend.getTeamSetting('acme', 'vault')).toBe('acme-vault');
        expect(await backend.getTeamSetting('acme', 'missing')).toBeUndefined();
        expect(await backend.getTeamSetting('no-such-team', 'vault')).toBeUndefined();
        expect(await backend.getAllTeamSettings('no-such-team')).toEqual([]);
        const all = await backend.getAllTeamSettings('acme');
        expect([...all].sort((a, b) => a.key.localeCompare(b.key))).toEqual([
          { key: 'region', value: 'eu' },
          { key: 'vault', value: 'acme-vault' },
        ]);
        expect(await backend.getUserSetting('alice', 'theme')).toBe('dark');
        expect(await backend.getAllUserSettings('alice')).toEqual([{ key: 'theme', value: 'dark' }]);
        expect(await backend.getAllUserSettings('nobody')).toEqual([]);
        expect(await backend.getAgentSetting('bot-1', 'mode')).toBe('fast');
        expect(await backend.getAgentSetting('bot-2', 'mode')).toBeUndefined();
      });
    });

    describe('service policy', () => {
      it("reads the resolved team's settings, never a team named like the candidate (W11)", async () => {
        expect(await service.user('alice').getTeamSetting('vault')).toBe('acme-vault');
        expect(await service.user('carol').getTeamSetting('vault')).toBeUndefined();
        expect(await service.user('carol').getAllTeamSettings()).toEqual([]);
        expect(await service.team('carol').getTeamSetting('vault')).toBe('WRONG-team-named-like-a-user');
      });

      it("keeps each candidate to its own settings: a user's are not an agent's", async () => {
        expect(await service.user('alice').getUserSetting('theme')).toBe('dark');
        expect(await service.agent('bot-1').getUserSetting('theme')).toBeUndefined();
        expect(await service.user('alice').getAgentSetting('mode')).toBeUndefined();
        expect(await service.agent('bot-1').getAgentSetting('mode')).toBe('fast');
        expect(await service.team('acme').getAllUserSettings()).toEqual([]);
      });

      it('gives the public principal no team', async () => {
        expect(await service.requester(AccessCandidate.public()).getCandidateTeam()).toBeUndefined();
        expect(await service.requester(AccessCandidate.public()).getAllTeamSettings()).toEqual([]);
      });

      it('refuses malformed team ids and setting keys before the backend sees them', async () => {
        await expect(service.isTeamMember('bad/team', user('alice'))).rejects.toThrow(SreInvalidInputError);
        expect(() => service.forTeam('../etc')).toThrow(SreInvalidInputError);
        await expect(service.user('alice').getTeamSetting('')).rejects.toThrow(SreInvalidInputError);
        await expect(service.forTeam('acme').getSetting('bad\u0000key')).rejects.toThrow(SreInvalidInputError);
      });

      it('treats a team id that breaks the id grammar as no team (ids end up in keys and paths)', async () => {
        const odd: AccountBackend = {
          isTeamMember: (teamId, candidate) => backend.isTeamMember(teamId, candidate),
          getCandidateTeam: () => '../acme',
          getAllTeamSettings: (teamId) => backend.getAllTeamSettings(teamId),
          getTeamSetting: (teamId, key) => backend.getTeamSetting(teamId, key),
          getAllUserSettings: (id) => backend.getAllUserSettings(id),
          getUserSetting: (id, key) => backend.getUserSetting(id, key),
          getAgentSetting: (id, key) => backend.getAgentSetting(id, key),
        };
        const guarded = new AccountService(odd);
        expect(await guarded.getCandidateTeam(user('alice'))).toBeUndefined();
        expect(await guarded.user('alice').getAllTeamSettings()).toEqual([]);
      });

      it('gives trusted code an explicit per-team view', async () => {
        const acme = service.forTeam('acme');
        expect(acme.teamId).toBe('acme');
        expect(await acme.getSetting('vault')).toBe('acme-vault');
        expect(await acme.isMember(user('alice'))).toBe(true);
        expect(await acme.isMember(user('bob'))).toBe(false);
      });
    });
  });
}
