import type { ConnectorContext } from '../core/backend';
import { assertKey } from '../core/resource-id';
import { SreService } from '../core/service';
import { AccessCandidate, CANDIDATE_ID_PATTERN } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import type { AccountBackend, KeyValue } from './account.backend';

export type { KeyValue } from './account.backend';

/**
 * What one candidate may ask the Account subsystem. Team calls act on the candidate's RESOLVED team
 * (W11: the original looked up a team named like the user or agent).
 */
export interface AccountRequester {
  readonly candidate: AccessCandidate;
  isTeamMember(teamId: string): Promise<boolean>;
  /** The team the candidate acts for (a team is its own team); `undefined` when it has none. */
  getCandidateTeam(): Promise<string | undefined>;
  /** Alias of `getCandidateTeam`. */
  getTeam(): Promise<string | undefined>;
  /** Settings of the candidate's team; `[]` when it has no team. */
  getAllTeamSettings(): Promise<KeyValue[]>;
  getTeamSetting(key: string): Promise<string | undefined>;
  /** The candidate's own settings; `[]` / `undefined` unless the candidate is a user. */
  getAllUserSettings(): Promise<KeyValue[]>;
  getUserSetting(key: string): Promise<string | undefined>;
  /** The candidate's own setting; `undefined` unless the candidate is an agent. */
  getAgentSetting(key: string): Promise<string | undefined>;
}

/**
 * One team seen from trusted server code (no candidate, no check): the explicit form of what the
 * original's requester did by accident when it used a user's id as a team id.
 */
export interface TeamAccount {
  readonly teamId: string;
  isMember(candidate: AccessCandidate): Promise<boolean>;
  getAllSettings(): Promise<KeyValue[]>;
  getSetting(key: string): Promise<string | undefined>;
}

/**
 * Teams, users, agents and their settings: what you inject. It is also the team resolver of every
 * other subsystem's access decision, so it validates what the backend answers: a team id that
 * breaks the id grammar is no team (team ids end up in keys and paths).
 */
export class AccountService extends SreService<AccountBackend> implements TeamResolver {
  constructor(backend: AccountBackend, context?: ConnectorContext, _deps: object = {}) {
    super(backend, context);
  }

  /** The team the candidate acts for: a team is its own team; `undefined` when it has none. */
  getCandidateTeam(candidate: AccessCandidate): Promise<string | undefined> {
    const valid = (team: string | undefined) =>
      typeof team === 'string' && CANDIDATE_ID_PATTERN.test(team) ? team : undefined;
    // the hot path of every team-based access check: no extra promise once connected
    try {
      const answer = this.call('resolving a team', () => this.backend.getCandidateTeam(candidate));
      return answer instanceof Promise ? answer.then(valid) : Promise.resolve(valid(answer));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** True when `candidate` belongs to `teamId`. */
  async isTeamMember(teamId: string, candidate: AccessCandidate): Promise<boolean> {
    const id = AccessCandidate.team(teamId).id;
    return (await this.call('checking membership', () => this.backend.isTeamMember(id, candidate))) === true;
  }

  requester(candidate: AccessCandidate): AccountRequester {
    const team = () => this.getCandidateTeam(candidate);
    const isUser = candidate.role === 'user';
    const isAgent = candidate.role === 'agent';
    const key = (name: string) => {
      assertKey(name, 'setting key', this.source());
      return name;
    };
    return {
      candidate,
      isTeamMember: (teamId) => this.isTeamMember(teamId, candidate),
      getCandidateTeam: team,
      getTeam: team,
      getAllTeamSettings: async () => {
        const teamId = await team();
        return teamId === undefined
          ? []
          : this.call('reading team settings', () => this.backend.getAllTeamSettings(teamId));
      },
      getTeamSetting: async (name) => {
        const teamId = await team();
        return teamId === undefined
          ? undefined
          : this.call('reading a team setting', () => this.backend.getTeamSetting(teamId, key(name)));
      },
      getAllUserSettings: async () =>
        isUser ? this.call('reading user settings', () => this.backend.getAllUserSettings(candidate.id)) : [],
      getUserSetting: async (name) =>
        isUser
          ? this.call('reading a user setting', () => this.backend.getUserSetting(candidate.id, key(name)))
          : undefined,
      getAgentSetting: async (name) =>
        isAgent
          ? this.call('reading an agent setting', () => this.backend.getAgentSetting(candidate.id, key(name)))
          : undefined,
    };
  }

  /** Direct access to one team's settings and membership, for trusted server code. */
  forTeam(teamId: string): TeamAccount {
    // validates the id grammar once, here, rather than on every call
    const id = AccessCandidate.team(teamId).id;
    return {
      teamId: id,
      isMember: (candidate) => this.isTeamMember(id, candidate),
      getAllSettings: async () => this.call('reading team settings', () => this.backend.getAllTeamSettings(id)),
      getSetting: async (name) => {
        assertKey(name, 'setting key', this.source());
        return this.call('reading a team setting', () => this.backend.getTeamSetting(id, name));
      },
    };
  }

  user(id: string): AccountRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): AccountRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): AccountRequester {
    return this.requester(AccessCandidate.agent(id));
  }
}
