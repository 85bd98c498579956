import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { DebouncedWatch } from '../../core/fs/debounced-watch';
import { AccessCandidate, DEFAULT_TEAM_ID } from '../../security/access-candidate';
import type { AccountBackend } from '../account.backend';
import { AccountIndex, AccountIndexBackend } from './account-index';
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
export class JSONFileAccountConnector extends AccountIndexBackend implements AccountBackend {
  static readonly connectorName = 'JSONFileAccount';
  static readonly settingsClass = JSONFileAccountSettings;

  /** The file the accounts come from. */
  readonly file: string;
  private readonly fallbackTeam: string | undefined;
  protected accounts: AccountIndex;
  private readonly watcher: DebouncedWatch;
  private closed = true;

  constructor(
    private readonly settings: JSONFileAccountSettings = new JSONFileAccountSettings(),
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'Account',
      connector: 'JSONFileAccount',
    }),
  ) {
    super();
    this.file = path.resolve(context.dataDir, settings.file ?? ACCOUNT_FILE_NAME);
    const fallback = settings.fallbackTeam === undefined ? DEFAULT_TEAM_ID : settings.fallbackTeam;
    this.fallbackTeam = fallback ?? undefined;
    if (this.fallbackTeam !== undefined) AccessCandidate.team(this.fallbackTeam);
    this.accounts = new AccountIndex({}, this.fallbackTeam);
    this.watcher = new DebouncedWatch(() => this.reloadOnce(), {
      logger: context.logger,
      debounceMs: settings.debounceMs ?? 100,
      what: this.file,
    });
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
    await this.watcher.close();
  }

  /** Re-reads the file now (what `watch` does on a change); a bad read keeps the current data. */
  reload(): Promise<void> {
    return this.watcher.run();
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    const loaded = await this.load();
    if (this.closed) return;
    if (typeof loaded === 'string') {
      this.context.logger.warn(`reloading failed, keeping the previous accounts: ${loaded}`);
    } else {
      this.accounts = loaded;
      this.context.logger.log(`reloaded ${this.file}`);
    }
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
    void this.watcher.close();
    const base = path.basename(this.file);
    // the directory, so that a file replaced by a rename is still followed
    this.watcher.watch(path.dirname(this.file), { filter: (changed) => changed === null || changed === base });
  }
}
