import {
  IsOptional,
  IsString,
  Matches,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { createConnectorContext, labelOf, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { AccessCandidate, DEFAULT_TEAM_ID } from '../../security/access-candidate';
import type { AccountBackend, KeyValue } from '../account.backend';

/** A setting value as written in the data; anything but a string is stored as its JSON text. */
export type AccountSettingValue = string | number | boolean | null | object;

export interface AccountMemberData {
  settings?: Record<string, AccountSettingValue>;
}

export interface AccountTeamData {
  users?: Record<string, AccountMemberData>;
  agents?: Record<string, AccountMemberData>;
  settings?: Record<string, AccountSettingValue>;
}

/** The original's account data model (§3.2): `{ <team>: { users, agents, settings } }`. */
export type AccountData = Record<string, AccountTeamData>;

const ID_PATTERN = /^[A-Za-z0-9-]+$/;
const TEAM_FIELDS = new Set(['users', 'agents', 'settings']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The first structural problem of account data, or `undefined`. Names ids and fields, never a
 * setting value. Ids must follow the candidate grammar: an entry no candidate can name is a typo.
 */
export function describeAccountDataProblem(data: unknown): string | undefined {
  if (!isPlainObject(data)) return 'must be an object of teams';
  for (const [teamId, team] of Object.entries(data)) {
    if (!ID_PATTERN.test(teamId)) return `team id '${teamId}' must use letters, digits and '-' only`;
    if (!isPlainObject(team)) return `team '${teamId}' must be an object`;
    for (const field of Object.keys(team)) {
      if (!TEAM_FIELDS.has(field))
        return `team '${teamId}' has an unknown field '${field}' (expected users, agents, settings)`;
    }
    if (team.settings !== undefined && !isPlainObject(team.settings))
      return `team '${teamId}': settings must be an object`;
    for (const kind of ['users', 'agents'] as const) {
      const members = team[kind];
      if (members === undefined) continue;
      if (!isPlainObject(members)) return `team '${teamId}': ${kind} must be an object`;
      for (const [id, member] of Object.entries(members)) {
        if (!ID_PATTERN.test(id)) return `team '${teamId}': ${kind} id '${id}' must use letters, digits and '-' only`;
        if (!isPlainObject(member)) return `team '${teamId}': ${kind}.${id} must be an object`;
        if (member.settings !== undefined && !isPlainObject(member.settings))
          return `team '${teamId}': ${kind}.${id}.settings must be an object`;
      }
    }
  }
  return undefined;
}

@ValidatorConstraint({ name: 'accountData' })
class AccountDataConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return describeAccountDataProblem(value) === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    return describeAccountDataProblem(args.value) ?? 'is invalid';
  }
}

export class DummyAccountSettings {
  /** Teams, their users and agents, and everyone's settings. */
  @IsOptional()
  @Validate(AccountDataConstraint)
  data?: AccountData = {};

  /**
   * The team of every user or agent no team lists, of which every user and agent is a member (the
   * original's behaviour, with `'default'`). `null` disables it: unlisted principals have no team
   * and belong to none (W12).
   */
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: "must use letters, digits and '-' only" })
  fallbackTeam?: string | null = DEFAULT_TEAM_ID;
}

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
 * Accounts from the settings' data, held in memory. Team resolution is a map lookup: unlisted
 * users and agents fall back to `fallbackTeam` (or to no team when it is `null`).
 */
export class DummyAccountConnector implements AccountBackend {
  static readonly connectorName = 'DummyAccount';
  static readonly settingsClass = DummyAccountSettings;

  private readonly fallbackTeam: string | undefined;
  private readonly teams = new Map<string, TeamRecord>();
  /** First team (in data order) listing each user / agent. */
  private readonly userTeams = new Map<string, string>();
  private readonly agentTeams = new Map<string, string>();
  /** Own settings merged across the teams listing them; the first team wins per key. */
  private readonly userSettings = new Map<string, Map<string, string>>();
  private readonly agentSettings = new Map<string, Map<string, string>>();

  constructor(
    settings: DummyAccountSettings = new DummyAccountSettings(),
    context: ConnectorContext = createConnectorContext({ subsystem: 'Account', connector: 'DummyAccount' }),
  ) {
    const fallback = settings.fallbackTeam === undefined ? DEFAULT_TEAM_ID : settings.fallbackTeam;
    this.fallbackTeam = fallback ?? undefined;
    // validated by the module; checked again for direct construction (scripts, tests)
    const problem = describeAccountDataProblem(settings.data ?? {});
    if (problem) throw new SreInvalidInputError(`${labelOf(context)} settings.data: ${problem}`, sourceOf(context));
    if (this.fallbackTeam !== undefined) AccessCandidate.team(this.fallbackTeam);
    this.index(settings.data ?? {});
  }

  isTeamMember(teamId: string, candidate: AccessCandidate): boolean {
    return this.memberOf(teamId, candidate);
  }

  getCandidateTeam(candidate: AccessCandidate): string | undefined {
    // the hot path of every team-based access check: a map lookup, answered synchronously
    return this.teamOf(candidate);
  }

  async getAllTeamSettings(teamId: string): Promise<KeyValue[]> {
    return toKeyValues(this.teams.get(teamId)?.settings);
  }

  async getTeamSetting(teamId: string, key: string): Promise<string | undefined> {
    return this.teams.get(teamId)?.settings.get(key);
  }

  async getAllUserSettings(userId: string): Promise<KeyValue[]> {
    return toKeyValues(this.userSettings.get(userId));
  }

  async getUserSetting(userId: string, key: string): Promise<string | undefined> {
    return this.userSettings.get(userId)?.get(key);
  }

  async getAgentSetting(agentId: string, key: string): Promise<string | undefined> {
    return this.agentSettings.get(agentId)?.get(key);
  }

  private teamOf(candidate: AccessCandidate): string | undefined {
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

  private memberOf(teamId: string, candidate: AccessCandidate): boolean {
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

  private index(data: AccountData): void {
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
    if (this.fallbackTeam !== undefined && !this.teams.has(this.fallbackTeam)) {
      this.teams.set(this.fallbackTeam, { settings: new Map(), users: new Set(), agents: new Set() });
    }
  }
}
