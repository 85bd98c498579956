import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IsArray, IsOptional, IsString } from 'class-validator';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import type { AgentDataBackend, AgentDataRecord, AgentDefinition } from '../agent-data.backend';
import { domainsOf, embodimentsOf, parseAgentFile, teamOf } from './agent-files';

export class CLIAgentDataSettings {
  /**
   * The command-line arguments to read `--agent <file>` and `--settings <file | JSON object>` from
   * (`--agent=<file>` works too). Default: `process.argv.slice(2)`.
   */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  args?: string[];
}

/** The value of `--name <value>` or `--name=<value>` in `args`, the last one winning. */
export function cliArg(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === `--${name}` && i + 1 < args.length) value = args[++i];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The one agent a command line names: `--agent <file>` (a `.smyth` file, relative to the working
 * directory) and, optionally, `--settings <file>` or `--settings '<JSON object>'` for its settings
 * (default: the file's own `settings`). Read at connect: a named file that is missing or invalid
 * fails it. The agent is served under its `id` (the file name without extension when it has none),
 * as its development copy and as every deployed version; without `--agent` it serves no agent.
 */
export class CLIAgentDataConnector implements AgentDataBackend {
  static readonly connectorName = 'CLI';
  static readonly settingsClass = CLIAgentDataSettings;

  private agent?: { id: string; data: AgentDefinition; settings: Record<string, unknown> };

  constructor(
    private readonly settings: CLIAgentDataSettings = new CLIAgentDataSettings(),
    private readonly context: ConnectorContext = createConnectorContext({ subsystem: 'AgentData', connector: 'CLI' }),
  ) {}

  /** The id of the agent served, once connected. */
  get agentId(): string | undefined {
    return this.agent?.id;
  }

  async connect(): Promise<void> {
    const args = this.settings.args ?? process.argv.slice(2);
    const agentArg = cliArg(args, 'agent');
    const settingsArg = cliArg(args, 'settings');
    if (agentArg === undefined) {
      this.agent = undefined;
      if (settingsArg !== undefined) this.context.logger.warn('--settings is ignored without --agent');
      return;
    }
    const file = path.resolve(agentArg);
    const parsed = parseAgentFile(file, await this.readText(file, '--agent'));
    if (typeof parsed === 'string') throw this.error(`--agent ${file}: ${parsed}`);
    const settings = settingsArg === undefined ? (parsed.data.settings ?? {}) : await this.settingsFrom(settingsArg);
    this.agent = { id: parsed.id, data: parsed.data, settings };
  }

  async disconnect(): Promise<void> {}

  getAgentData(agentId: string, version?: string): AgentDataRecord | undefined {
    const data = this.of(agentId)?.data;
    return (
      data && {
        data: structuredClone(data),
        version: version && version !== 'latest' ? version : (data.version ?? '1.0'),
      }
    );
  }

  getAgentSettings(agentId: string): Record<string, unknown> {
    return structuredClone(this.of(agentId)?.settings ?? {});
  }

  getAgentIdByDomain(domain: string): string | undefined {
    const agent = this.agent;
    if (!agent) return undefined;
    const served = [...domainsOf(agent.data), ...domainsOf({ settings: agent.settings })];
    return served.includes(domain) ? agent.id : undefined;
  }

  getAgentEmbodiments(agentId: string): unknown[] {
    return embodimentsOf(this.of(agentId)?.data);
  }

  isDeployed(agentId: string): boolean {
    return this.of(agentId) !== undefined;
  }

  listTeamAgents(teamId: string, deployedOnly: boolean, includeData: boolean): Record<string, unknown>[] {
    const agent = this.agent;
    if (!agent || teamOf(agent.data) !== teamId) return [];
    return [
      {
        id: agent.id,
        name: agent.data.name,
        deployed: true,
        ...(includeData ? { data: structuredClone(agent.data) } : {}),
      },
    ];
  }

  getAgentConfig(agentId: string): Record<string, unknown> | undefined {
    const agent = this.of(agentId);
    return agent && structuredClone(agent.settings);
  }

  private of(agentId: string): CLIAgentDataConnector['agent'] {
    return this.agent?.id === agentId ? this.agent : undefined;
  }

  /** `--settings`: a JSON object inline, or the path of a file holding one. */
  private async settingsFrom(arg: string): Promise<Record<string, unknown>> {
    const inline = arg.trimStart().startsWith('{');
    const text = inline ? arg : await this.readText(path.resolve(arg), '--settings');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw this.error(`--settings ${inline ? '(inline)' : path.resolve(arg)}: not valid JSON`);
    }
    if (!isPlainObject(value)) throw this.error('--settings must be a JSON object');
    return value;
  }

  private async readText(file: string, what: string): Promise<string> {
    try {
      return await fsp.readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw this.error(code === 'ENOENT' ? `${what} ${file} does not exist` : `${what}: cannot read ${file} (${code})`);
    }
  }

  private error(problem: string): SreConfigError {
    return new SreConfigError([`${labelOf(this.context)}: ${problem}`]);
  }
}
