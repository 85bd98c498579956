import { SreConnector } from '../core/connector';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';

/** A setting as the original returns lists of them. */
export interface KeyValue {
  key: string;
  value: string;
}

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
 * Teams, users, agents and their settings: the contract, injection token and base class of every
 * Account connector. Other subsystems call `getCandidateTeam` on every access check that involves
 * a team, so connectors keep it free of I/O once connected.
 */
export abstract class AccountService extends SreConnector implements TeamResolver {
  /** True when `candidate` belongs to `teamId`. A team candidate belongs to itself only. */
  abstract isTeamMember(teamId: string, candidate: AccessCandidate): Promise<boolean>;
  /** The team the candidate acts for: a team is its own team; `undefined` when it has none. */
  abstract getCandidateTeam(candidate: AccessCandidate): Promise<string | undefined>;
  /** `[]` for an unknown team. */
  abstract getAllTeamSettings(teamId: string): Promise<KeyValue[]>;
  /** `undefined` when the team or the key is unknown. */
  abstract getTeamSetting(teamId: string, key: string): Promise<string | undefined>;
  abstract getAllUserSettings(userId: string): Promise<KeyValue[]>;
  abstract getUserSetting(userId: string, key: string): Promise<string | undefined>;
  abstract getAgentSetting(agentId: string, key: string): Promise<string | undefined>;

  requester(candidate: AccessCandidate): AccountRequester {
    const team = () => this.getCandidateTeam(candidate);
    const isUser = candidate.role === 'user';
    const isAgent = candidate.role === 'agent';
    return {
      candidate,
      isTeamMember: (teamId) => this.isTeamMember(teamId, candidate),
      getCandidateTeam: team,
      getTeam: team,
      getAllTeamSettings: async () => {
        const teamId = await team();
        return teamId === undefined ? [] : this.getAllTeamSettings(teamId);
      },
      getTeamSetting: async (key) => {
        const teamId = await team();
        return teamId === undefined ? undefined : this.getTeamSetting(teamId, key);
      },
      getAllUserSettings: async () => (isUser ? this.getAllUserSettings(candidate.id) : []),
      getUserSetting: async (key) => (isUser ? this.getUserSetting(candidate.id, key) : undefined),
      getAgentSetting: async (key) => (isAgent ? this.getAgentSetting(candidate.id, key) : undefined),
    };
  }

  /** Direct access to one team's settings and membership, for trusted server code. */
  forTeam(teamId: string): TeamAccount {
    // validates the id grammar once, here, rather than on every call
    const id = AccessCandidate.team(teamId).id;
    return {
      teamId: id,
      isMember: (candidate) => this.isTeamMember(id, candidate),
      getAllSettings: () => this.getAllTeamSettings(id),
      getSetting: (key) => this.getTeamSetting(id, key),
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
