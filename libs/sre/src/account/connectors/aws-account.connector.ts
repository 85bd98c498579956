import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { LRUCache } from 'lru-cache';
import type { AwsClientConfig } from '../../core/aws-client';
import { AwsServiceSettings } from '../../core/aws-service';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { CANDIDATE_ID_PATTERN, type AccessCandidate } from '../../security/access-candidate';
import type { AccountBackend, KeyValue } from '../account.backend';
import { CognitoPool, type CognitoGroup } from './aws-account.cognito';

/** Cognito names custom attributes `custom:<name>`: those are the settings. */
const CUSTOM = 'custom:';

export class AWSAccountSettings extends AwsServiceSettings {
  @IsString()
  @Matches(/^[\w-]+_[0-9a-zA-Z]+$/, { message: 'must be a Cognito user pool id (<region>_<id>)' })
  userPoolId!: string;

  /** The seed names the app client; the admin calls this connector makes need only the pool. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  clientId?: string;

  /**
   * Only groups named `<groupPrefix><teamId>` are teams (`team-` keeps `admins` out); the prefix is
   * not part of the team id. Empty: every group whose name is a valid team id is a team.
   */
  @IsOptional()
  @IsString()
  @Matches(/^[\w.+=@-]*$/, { message: 'must be group-name characters' })
  groupPrefix?: string = '';

  /** Agents are Cognito users named `<agentUsernamePrefix><agentId>` (Cognito has no agents). */
  @IsOptional()
  @IsString()
  @Matches(/^[\w.+=@-]+$/, { message: 'must be username characters' })
  agentUsernamePrefix?: string = 'agent.';

  /** Seconds a principal's groups (its team and memberships) are reused before Cognito is asked again; 0: never. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3_600)
  teamCacheSeconds?: number = 30;

  /**
   * Team settings that do not fit a group description (2048 characters), e.g. `custom-llm`: a JSON
   * file `{ "<teamId>": { "<key>": "<value>" } }`, relative to the data dir, read at connect. The
   * group description's settings win over the file's.
   */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  teamSettingsFile?: string;
}

/**
 * Accounts in an Amazon Cognito user pool: users are Cognito users, teams are Cognito groups
 * (membership is group membership; a user in several teams acts for the one of lowest precedence,
 * then name), agents are users named `<agentUsernamePrefix><agentId>`. User and agent settings are
 * their `custom:` attributes; team settings are the JSON object in the group's description, then
 * `teamSettingsFile`. A principal's groups are read once per `teamCacheSeconds` (concurrent calls
 * share one read), so access checks do not each ask Cognito.
 */
export class AWSAccountConnector implements AccountBackend {
  static readonly connectorName = 'AWSAccount';
  static readonly settingsClass = AWSAccountSettings;

  private pool?: CognitoPool;
  private readonly groups: LRUCache<string, Promise<CognitoGroup[] | undefined>> | undefined;
  private fileSettings = new Map<string, Map<string, string>>();

  constructor(
    private readonly settings: AWSAccountSettings,
    private readonly context: ConnectorContext<{ aws?: AwsClientConfig }> = createConnectorContext({
      subsystem: 'Account',
      connector: 'AWSAccount',
    }),
  ) {
    const ttl = settings.teamCacheSeconds ?? 30;
    this.groups = ttl > 0 ? new LRUCache({ max: 50_000, ttl: ttl * 1000 }) : undefined;
  }

  async connect(): Promise<void> {
    this.pool ??= new CognitoPool(this.settings.userPoolId, this.settings, this.context);
    if (this.settings.teamSettingsFile) this.fileSettings = await this.readSettingsFile(this.settings.teamSettingsFile);
  }

  async disconnect(): Promise<void> {
    this.pool?.close();
    this.pool = undefined;
    this.groups?.clear();
  }

  async ping(): Promise<void> {
    await this.cognito().check();
  }

  async isTeamMember(teamId: string, candidate: AccessCandidate): Promise<boolean> {
    if (candidate.role === 'team') return teamId === candidate.id;
    return (await this.teamsOf(candidate)).includes(teamId);
  }

  async getCandidateTeam(candidate: AccessCandidate): Promise<string | undefined> {
    if (candidate.role === 'team') return candidate.id;
    return (await this.teamsOf(candidate))[0];
  }

  async getAllTeamSettings(teamId: string): Promise<KeyValue[]> {
    const settings = await this.teamSettings(teamId);
    return settings ? [...settings].map(([key, value]) => ({ key, value })) : [];
  }

  async getTeamSetting(teamId: string, key: string): Promise<string | undefined> {
    return (await this.teamSettings(teamId))?.get(key);
  }

  async getAllUserSettings(userId: string): Promise<KeyValue[]> {
    const attributes = await this.cognito().attributesOf(userId);
    return [...customOf(attributes)].map(([key, value]) => ({ key, value }));
  }

  async getUserSetting(userId: string, key: string): Promise<string | undefined> {
    return customOf(await this.cognito().attributesOf(userId)).get(key);
  }

  async getAgentSetting(agentId: string, key: string): Promise<string | undefined> {
    return customOf(await this.cognito().attributesOf(this.usernameOf('agent', agentId))).get(key);
  }

  /** The candidate's teams, its acting team first; `[]` for a principal Cognito does not know. */
  private async teamsOf(candidate: AccessCandidate): Promise<string[]> {
    if (candidate.role !== 'user' && candidate.role !== 'agent') return [];
    const username = this.usernameOf(candidate.role, candidate.id);
    let groups = this.groups?.get(username);
    if (!groups) {
      groups = this.cognito().groupsOf(username);
      this.groups?.set(username, groups);
      // a failed read is not remembered: the next call asks again
      groups.catch(() => this.groups?.delete(username));
    }
    const prefix = this.settings.groupPrefix ?? '';
    return ((await groups) ?? [])
      .filter((group) => group.name.startsWith(prefix) && CANDIDATE_ID_PATTERN.test(group.name.slice(prefix.length)))
      .sort((a, b) => (a.precedence ?? Infinity) - (b.precedence ?? Infinity) || a.name.localeCompare(b.name))
      .map((group) => group.name.slice(prefix.length));
  }

  private async teamSettings(teamId: string): Promise<Map<string, string> | undefined> {
    const description = await this.cognito().descriptionOf(`${this.settings.groupPrefix ?? ''}${teamId}`);
    const fromFile = this.fileSettings.get(teamId);
    if (description === undefined) return fromFile;
    const merged = new Map(fromFile);
    for (const [key, value] of settingsOf(parseObject(description))) merged.set(key, value);
    return merged;
  }

  private usernameOf(role: 'user' | 'agent', id: string): string {
    return role === 'agent' ? `${this.settings.agentUsernamePrefix ?? 'agent.'}${id}` : id;
  }

  private async readSettingsFile(file: string): Promise<Map<string, Map<string, string>>> {
    const full = path.resolve(this.context.dataDir, file);
    let data: unknown;
    try {
      data = JSON.parse(await fsp.readFile(full, 'utf8'));
    } catch (error) {
      const why =
        error instanceof SyntaxError
          ? 'is not valid JSON'
          : `cannot be read (${(error as NodeJS.ErrnoException).code})`;
      throw new SreConfigError([`${labelOf(this.context)}: teamSettingsFile ${full} ${why}`]);
    }
    const teams = new Map<string, Map<string, string>>();
    for (const [team, settings] of Object.entries(parseObject(data)))
      teams.set(team, settingsOf(parseObject(settings)));
    return teams;
  }

  private cognito(): CognitoPool {
    return (this.pool ??= new CognitoPool(this.settings.userPoolId, this.settings, this.context));
  }
}

/** `custom:<key>` attributes as `key → value`. */
function customOf(attributes: Map<string, string> | undefined): Map<string, string> {
  const settings = new Map<string, string>();
  for (const [name, value] of attributes ?? [])
    if (name.startsWith(CUSTOM)) settings.set(name.slice(CUSTOM.length), value);
  return settings;
}

/** A JSON object (a description that is free text holds no settings). */
function parseObject(value: unknown): Record<string, unknown> {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return {};
    }
  }
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

/** Settings as strings: other JSON values are kept as their JSON text, like the file accounts. */
function settingsOf(raw: Record<string, unknown>): Map<string, string> {
  const settings = new Map<string, string>();
  for (const [key, value] of Object.entries(raw))
    if (value !== null && value !== undefined)
      settings.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  return settings;
}
