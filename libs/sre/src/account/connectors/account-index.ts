import type { AccessCandidate } from '../../security/access-candidate';
import type { AccountBackend, KeyValue } from '../account.backend';
import type { AccountData } from './dummy-account.connector';

interface TeamRecord {
  readonly settings: Map<string, string>;
  readonly users: Set<string>;
  readonly agents: Set<string>;
}

function toSettingMap(raw: Record<string, unknown> | undefined, into = new Map<string, string>()): Map<string, string> {
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (value === null || value === undefined || into.has(key)) continue;
    into.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return into;
}

function toKeyValues(settings: Map<string, string> | undefined): KeyValue[] {
  return settings ? [...settings].map(([key, value]) => ({ key, value })) : [];
}

/**
 * Account data (the original's model, already validated with `describeAccountDataProblem`)
 * indexed for map lookups, shared by DummyAccount and JSONFileAccount. Users and agents no team
 * lists fall back to `fallbackTeam` (`undefined`: they have no team and belong to none). Every
 * lookup is on own entries only: an id named like an Object member is just unknown, and a missing
 * team (even `default`, W52) answers false, `[]` or `undefined`, never throws.
 */
export class AccountIndex {
  private readonly teams = new Map<string, TeamRecord>();
  /** First team (in data order) listing each user / agent. */
  private readonly userTeams = new Map<string, string>();
  private readonly agentTeams = new Map<string, string>();
  /** Own settings merged across the teams listing them; the first team wins per key. */
  private readonly userSettings = new Map<string, Map<string, string>>();
  private readonly agentSettings = new Map<string, Map<string, string>>();

  constructor(
    data: AccountData,
    private readonly fallbackTeam: string | undefined,
  ) {
    for (const [teamId, team] of Object.entries(data)) {
      const record: TeamRecord = { settings: toSettingMap(team.settings), users: new Set(), agents: new Set() };
      this.teams.set(teamId, record);
      for (const [userId, user] of Object.entries(team.users ?? {})) {
        record.users.add(userId);
        if (!this.userTeams.has(userId)) this.userTeams.set(userId, teamId);
        this.userSettings.set(userId, toSettingMap(user.settings, this.userSettings.get(userId)));
      }
      for (const [agentId, agent] of Object.entries(team.agents ?? {})) {
        record.agents.add(agentId);
        if (!this.agentTeams.has(agentId)) this.agentTeams.set(agentId, teamId);
        this.agentSettings.set(agentId, toSettingMap(agent.settings, this.agentSettings.get(agentId)));
      }
    }
    if (fallbackTeam !== undefined && !this.teams.has(fallbackTeam)) {
      this.teams.set(fallbackTeam, { settings: new Map(), users: new Set(), agents: new Set() });
    }
  }

  teamOf(candidate: AccessCandidate): string | undefined {
    switch (candidate.role) {
      case 'team':
        return candidate.id;
      case 'user':
        return this.userTeams.get(candidate.id) ?? this.fallbackTeam;
      case 'agent':
        return this.agentTeams.get(candidate.id) ?? this.fallbackTeam;
      default:
        return undefined;
    }
  }

  memberOf(teamId: string, candidate: AccessCandidate): boolean {
    switch (candidate.role) {
      case 'team':
        return teamId === candidate.id;
      case 'user':
        return teamId === this.fallbackTeam || this.teams.get(teamId)?.users.has(candidate.id) === true;
      case 'agent':
        return teamId === this.fallbackTeam || this.teams.get(teamId)?.agents.has(candidate.id) === true;
      default:
        return false;
    }
  }

  allTeamSettings(teamId: string): KeyValue[] {
    return toKeyValues(this.teams.get(teamId)?.settings);
  }

  teamSetting(teamId: string, key: string): string | undefined {
    return this.teams.get(teamId)?.settings.get(key);
  }

  allUserSettings(userId: string): KeyValue[] {
    return toKeyValues(this.userSettings.get(userId));
  }

  userSetting(userId: string, key: string): string | undefined {
    return this.userSettings.get(userId)?.get(key);
  }

  agentSetting(agentId: string, key: string): string | undefined {
    return this.agentSettings.get(agentId)?.get(key);
  }
}

/**
 * The `AccountBackend` operations answered from an `AccountIndex`, for the connectors that hold
 * their accounts in one (DummyAccount, JSONFileAccount): each supplies only `accounts`.
 */
export abstract class AccountIndexBackend implements AccountBackend {
  protected abstract readonly accounts: AccountIndex;

  isTeamMember(teamId: string, candidate: AccessCandidate): boolean {
    return this.accounts.memberOf(teamId, candidate);
  }

  getCandidateTeam(candidate: AccessCandidate): string | undefined {
    // the hot path of every team-based access check: a map lookup, answered synchronously
    return this.accounts.teamOf(candidate);
  }

  async getAllTeamSettings(teamId: string): Promise<KeyValue[]> {
    return this.accounts.allTeamSettings(teamId);
  }

  async getTeamSetting(teamId: string, key: string): Promise<string | undefined> {
    return this.accounts.teamSetting(teamId, key);
  }

  async getAllUserSettings(userId: string): Promise<KeyValue[]> {
    return this.accounts.allUserSettings(userId);
  }

  async getUserSetting(userId: string, key: string): Promise<string | undefined> {
    return this.accounts.userSetting(userId, key);
  }

  async getAgentSetting(agentId: string, key: string): Promise<string | undefined> {
    return this.accounts.agentSetting(agentId, key);
  }
}
