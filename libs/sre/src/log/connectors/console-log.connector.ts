import { ArrayMaxSize, IsArray, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import { Logger, type LogLevel } from '@nestjs/common';
import { createConnectorContext, redactWith, type ConnectorContext } from '../../core/backend';
import type { AgentCallLog, LogBackend } from '../log.backend';
import { LogRedactor } from '../log.redactor';

export const CONSOLE_LOG_LEVELS = ['debug', 'verbose', 'log'] as const;
export type ConsoleLogLevel = (typeof CONSOLE_LOG_LEVELS)[number];

export class ConsoleLogSettings {
  /** Nest logger level the lines are written at (`debug` like the original). */
  @IsOptional()
  @IsIn(CONSOLE_LOG_LEVELS)
  level: ConsoleLogLevel = 'debug';

  /** Longest string kept in an entry; longer strings are cut and marked. */
  @IsOptional()
  @IsInt()
  @Min(16)
  @Max(1_000_000)
  maxFieldLength: number = 2048;

  /** More key names whose values are written as `***` (compared ignoring case, `-` and `_`). */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  redactKeys: string[] = [];
}

const MAX_CALL_ID_LENGTH = 128;

/**
 * Writes agent call logs through the Nest logger: `Log for agent <id>: <JSON entry>` and
 * `<n> Task(s) Consumed by agent <id>: Using Test|Production Domain`. Entries are redacted first
 * (secret keys and values, size caps, circular structures), unlike the original which printed whole
 * inputs and outputs (W49).
 */
export class ConsoleLogConnector implements LogBackend {
  static readonly connectorName = 'ConsoleLog';
  static readonly settingsClass = ConsoleLogSettings;

  private readonly level: ConsoleLogLevel;
  private readonly redactor: LogRedactor;
  private readonly logger: Logger;
  /** A copy of the application's log levels `levelEnabled` was decided on. */
  private levelsSeen?: LogLevel[];
  private levelEnabled = true;

  constructor(
    settings: ConsoleLogSettings = new ConsoleLogSettings(),
    private readonly context: ConnectorContext = createConnectorContext({ subsystem: 'Log', connector: 'ConsoleLog' }),
  ) {
    this.logger = context.logger;
    this.level = settings.level ?? 'debug';
    this.redactor = new LogRedactor({
      maxFieldLength: settings.maxFieldLength ?? 2048,
      redactKeys: settings.redactKeys,
      secrets: context.secrets,
    });
  }

  writeLog(agentId: string, entry: AgentCallLog, callId: string | undefined): void {
    // redaction walks the whole entry: not for a line the logger would drop anyway
    if (!this.enabled()) return;
    const call = callId === undefined ? '' : ` (call ${this.callLabel(callId)})`;
    this.write(`Log for agent ${agentId}${call}: ${JSON.stringify(this.redactor.redact(entry))}`);
  }

  writeTasks(agentId: string, tasks: number, isUsingTestDomain: boolean): void {
    if (!this.enabled()) return;
    this.write(
      `${tasks} Task(s) Consumed by agent ${agentId}: Using ${isUsingTestDomain ? 'Test' : 'Production'} Domain`,
    );
  }

  /**
   * Whether the application's log levels (`NestFactory.create(..., { logger: [...] })`,
   * `Logger.overrideLogger`) let this connector's level through; with no levels set (a custom
   * logger decides) everything is written.
   */
  private enabled(): boolean {
    const levels = (Logger as unknown as { logLevels?: LogLevel[] }).logLevels;
    if (levels === undefined) return true;
    // Nest's own check costs more than a dropped line should: the answer is kept for the levels
    // it was decided on, compared element by element (an array changed in place is seen too)
    if (!sameLevels(levels, this.levelsSeen)) {
      this.levelsSeen = [...levels];
      this.levelEnabled = Logger.isLevelEnabled(this.level);
    }
    return this.levelEnabled;
  }

  private write(message: string): void {
    this.logger[this.level](redactWith(this.context, message));
  }

  /** A call id on one line: masked, capped, control characters escaped (no forged log lines). */
  private callLabel(callId: string): string {
    const text = this.redactor.text(callId.length > MAX_CALL_ID_LENGTH ? callId.slice(0, MAX_CALL_ID_LENGTH) : callId);
    return JSON.stringify(text).slice(1, -1);
  }
}

function sameLevels(levels: readonly LogLevel[], seen: readonly LogLevel[] | undefined): boolean {
  if (seen === undefined || levels.length !== seen.length) return false;
  for (let i = 0; i < levels.length; i++) if (levels[i] !== seen[i]) return false;
  return true;
}
