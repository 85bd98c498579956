import { SreConnector } from '../core/connector';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';

/** A setting as the original returns lists of them. */
export interface KeyValue {
  key: string;
  value: string;
}

/** What one candidate may ask the Account subsystem; team calls act on the candidate's resolved team (W11). */
export interface AccountRequester {
  readonly candidate: AccessCandidate;
  isTeamMember(teamId: string): Promise<boolean>;
  /** The team the candidate acts for (a team is its own team). */
  getCandidateTeam(): Promise<string | undefined>;
  /** Alias of `getCandidateTeam`. */
  getTeam(): Promise<string | undefined>;
  getAllTeamSettings(): Promise<KeyValue[]>;
  getTeamSetting(key: string): Promise<string | undefined>;
  /** The candidate's own settings (users only). */
  getAllUserSettings(): Promise<KeyValue[]>;
  getUserSetting(key: string): Promise<string | undefined>;
  /** The candidate's own settings (agents only). */
  getAgentSetting(key: string): Promise<string | undefined>;
}

/**
 * Teams, users, agents and their settings: the contract, injection token and base class of every
 * Account connector. Other subsystems use it to resolve a candidate's team for access checks.
 */
export abstract class AccountService extends SreConnector implements TeamResolver {
  abstract isTeamMember(teamId: string, candidate: AccessCandidate): Promise<boolean>;
  abstract getCandidateTeam(candidate: AccessCandidate): Promise<string | undefined>;
  abstract getAllTeamSettings(teamId: string): Promise<KeyValue[]>;
  abstract getTeamSetting(teamId: string, key: string): Promise<string | undefined>;
  abstract getAllUserSettings(userId: string): Promise<KeyValue[]>;
  abstract getUserSetting(userId: string, key: string): Promise<string | undefined>;
  abstract getAgentSetting(agentId: string, key: string): Promise<string | undefined>;

  abstract requester(candidate: AccessCandidate): AccountRequester;
}
