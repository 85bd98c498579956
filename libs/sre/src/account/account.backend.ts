import type { SreBackend } from '../core/backend';
import type { AccessCandidate } from '../security/access-candidate';

/** A setting as the original returns lists of them. */
export interface KeyValue {
  key: string;
  value: string;
}

/**
 * What an Account connector implements: plain lookups of teams, members and settings. The service
 * validates ids before calling, checks every team id the backend answers against the id grammar,
 * and scopes requester calls to the candidate's own team; a backend decides nothing.
 * `getCandidateTeam` runs on every team-based access check of every subsystem: keep it free of I/O
 * once connected (answering synchronously is allowed).
 */
export interface AccountBackend extends SreBackend {
  /** True when `candidate` belongs to `teamId`. A team candidate belongs to itself only. */
  isTeamMember(teamId: string, candidate: AccessCandidate): Promise<boolean> | boolean;
  /** The team the candidate acts for: a team is its own team; `undefined` when it has none. */
  getCandidateTeam(candidate: AccessCandidate): Promise<string | undefined> | string | undefined;
  /** `[]` for an unknown team. */
  getAllTeamSettings(teamId: string): Promise<KeyValue[]>;
  /** `undefined` when the team or the key is unknown. */
  getTeamSetting(teamId: string, key: string): Promise<string | undefined>;
  getAllUserSettings(userId: string): Promise<KeyValue[]>;
  getUserSetting(userId: string, key: string): Promise<string | undefined>;
  getAgentSetting(agentId: string, key: string): Promise<string | undefined>;
}

/** Every operation of `AccountBackend` (a custom connector lacking one is refused at boot). */
export const ACCOUNT_OPERATIONS = [
  'isTeamMember',
  'getCandidateTeam',
  'getAllTeamSettings',
  'getTeamSetting',
  'getAllUserSettings',
  'getUserSetting',
  'getAgentSetting',
] as const;
