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
import type { AccountBackend } from '../account.backend';
import { AccountIndex, AccountIndexBackend } from './account-index';

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

/**
 * Accounts from the settings' data, held in memory. Team resolution is a map lookup: unlisted
 * users and agents fall back to `fallbackTeam` (or to no team when it is `null`).
 */
export class DummyAccountConnector extends AccountIndexBackend implements AccountBackend {
  static readonly connectorName = 'DummyAccount';
  static readonly settingsClass = DummyAccountSettings;

  protected readonly accounts: AccountIndex;

  constructor(
    settings: DummyAccountSettings = new DummyAccountSettings(),
    context: ConnectorContext = createConnectorContext({ subsystem: 'Account', connector: 'DummyAccount' }),
  ) {
    super();
    const fallback = settings.fallbackTeam === undefined ? DEFAULT_TEAM_ID : settings.fallbackTeam;
    const fallbackTeam = fallback ?? undefined;
    // validated by the module; checked again for direct construction (scripts, tests)
    const problem = describeAccountDataProblem(settings.data ?? {});
    if (problem) throw new SreInvalidInputError(`${labelOf(context)} settings.data: ${problem}`, sourceOf(context));
    if (fallbackTeam !== undefined) AccessCandidate.team(fallbackTeam);
    this.accounts = new AccountIndex(settings.data ?? {}, fallbackTeam);
  }
}
