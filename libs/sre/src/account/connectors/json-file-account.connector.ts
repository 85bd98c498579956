import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { AccessCandidate, DEFAULT_TEAM_ID } from '../../security/access-candidate';
import type { AccountBackend, KeyValue } from '../account.backend';
import { AccountIndex } from './account-index';
import { describeAccountDataProblem, type AccountData } from './dummy-account.connector';

/** The file JSONFileAccount reads when `file` is unset, relative to the data dir. */
export const ACCOUNT_FILE_NAME = 'account.json';

export class JSONFileAccountSettings {
  /**
   * The account file (the original's data model: `{ "<team>": { users, agents, settings } }`).
   * Unset: `account.json` in the data dir (`SRE_DATA_DIR`, default `.sre`). A missing or invalid
   * file fails the connect.
   */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  file?: string;

  /**
   * The team of every user or agent the file does not list, of which every user and agent is a
   * member (the original's behaviour, with `'default'`). `null`: unlisted principals have no team
   * and belong to none (W12). The team need not be in the file (W52).
   */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9-]+$/, { message: "must use letters, digits and '-' only" })
  fallbackTeam?: string | null = DEFAULT_TEAM_ID;

  /** Re-read the file when it changes (debounced); an invalid new content keeps the last good data. */
  @IsOptional()
  @IsBoolean()
  watch?: boolean = true;

  /** Milliseconds to wait after the last change before re-reading. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  debounceMs?: number = 100;
}

/**
 * Accounts from a JSON file in the original's data model, held in memory and indexed like
 * DummyAccount's (team resolution is a map lookup, never I/O). Read at connect (a missing or
 * invalid file fails it, naming the file and the problem, never a setting value); with `watch`,
 * changes are picked up after `debounceMs`, and an unreadable or invalid new content is reported
 * with a warning while the last good data stays in use. Never writes the file.
 */
export class JSONFileAccountConnector implements AccountBackend {
  static readonly connectorName = 'JSONFileAccount';
  static readonly settingsClass = JSONFileAccountSettings;

  /** The file the accounts come from. */
  readonly file: string;
  private readonly fallbackTeam: string | undefined;
  private accounts: AccountIndex;
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private reloading?: Promise<void>;
  private reloadAgain = false;
  private closed = true;

  constructor(
    private readonly settings: JSONFileAccountSettings = new JSONFileAccountSettings(),
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'Account',
      connector: 'JSONFileAccount',
    }),
  ) {
    this.file = path.resolve(context.dataDir, settings.file ?? ACCOUNT_FILE_NAME);
    const fallback = settings.fallbackTeam === undefined ? DEFAULT_TEAM_ID : settings.fallbackTeam;
    this.fallbackTeam = fallback ?? undefined;
    if (this.fallbackTeam !== undefined) AccessCandidate.team(this.fallbackTeam);
    this.accounts = new AccountIndex({}, this.fallbackTeam);
  }

  async connect(): Promise<void> {
    const loaded = await this.load();
    if (typeof loaded === 'string') throw new SreConfigError([`${labelOf(this.context)}: ${loaded}`]);
    this.accounts = loaded;
    this.closed = false;
    if (this.settings.watch !== false) this.watch();
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
    await this.reloading;
  }

  isTeamMember(teamId: string, candidate: AccessCandidate): boolean {
    return this.accounts.memberOf(teamId, candidate);
  }

  getCandidateTeam(candidate: AccessCandidate): string | undefined {
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

  /** Re-reads the file now (what `watch` does on a change); a bad read keeps the current data. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          if (this.closed) return;
          const loaded = await this.load();
          if (this.closed) return;
          if (typeof loaded === 'string') {
            this.context.logger.warn(`reloading failed, keeping the previous accounts: ${loaded}`);
          } else {
            this.accounts = loaded;
            this.context.logger.log(`reloaded ${this.file}`);
          }
        } while (this.reloadAgain);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** The indexed file, or the sentence saying why it cannot be used (no setting value in it). */
  private async load(): Promise<AccountIndex | string> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? `account file ${this.file} does not exist` : `cannot read ${this.file} (${code})`;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return `${this.file} is not valid JSON`;
    }
    const problem = describeAccountDataProblem(data);
    if (problem) return `${this.file}: ${problem}`;
    return new AccountIndex(data as AccountData, this.fallbackTeam);
  }

  private watch(): void {
    this.watcher?.close();
    const base = path.basename(this.file);
    try {
      // the directory, so that a file replaced by a rename is still followed
      this.watcher = fs.watch(path.dirname(this.file), { persistent: false }, (_event, changed) => {
        if (changed !== null && changed !== base) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.reload(), this.settings.debounceMs ?? 100);
        this.timer.unref();
      });
      this.watcher.on('error', (error) =>
        this.context.logger.warn(`watching ${this.file} stopped: ${(error as NodeJS.ErrnoException).code ?? 'error'}`),
      );
    } catch (error) {
      this.context.logger.warn(
        `cannot watch ${this.file}, changes will not be picked up: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
}
