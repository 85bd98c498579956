import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { DebouncedWatch } from '../../core/fs/debounced-watch';
import type { AgentDataBackend, AgentDataRecord, AgentDefinition } from '../agent-data.backend';
import { domainsOf, embodimentsOf, isAgentFile, parseAgentFile, teamOf } from './agent-files';

export class LocalAgentDataSettings {
  /** The development agents: `*.smyth` / `*.json` files (not recursive), relative to the working directory. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  devDir?: string;

  /** The deployed agents, one file per agent version (its `version` field, default `1.0`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  prodDir?: string;

  /** Re-scan a directory when a file in it changes (debounced); a miss re-scans a directory that changed anyway. */
  @IsOptional()
  @IsBoolean()
  watch?: boolean = true;

  /** Milliseconds to wait after the last change before re-scanning. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  debounceMs?: number = 100;
}

interface Index {
  /** Development copies by id. */
  dev: Map<string, AgentDefinition>;
  /** Deployed copies by id, then by version, oldest version first. */
  prod: Map<string, Map<string, AgentDefinition>>;
}

const DEFAULT_VERSION = '1.0';

/** Orders versions by their numeric parts (`1.10` after `1.9`), then as text. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? '', pb[i] ?? ''];
    const [nx, ny] = [Number(x), Number(y)];
    const diff = x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * Agents from `.smyth` (or `.json`) files in a development and a deployment directory, indexed by
 * their `id` (the file name without extension when the file has none). A file that cannot be read
 * or parsed is skipped with one warning and never hides the others (W50). Files added, changed or
 * removed later are picked up: by watching the directories (`watch`), and on a miss, which
 * re-scans a directory whose listing changed since the last scan. Both directories are optional,
 * but a directory that is set must exist at connect.
 *
 * A file may add to the original's format: `teamId` (for `listTeamAgents`), `domains` (besides
 * the `agentStageDomain` / `agentProdDomain` settings) and `embodiments`.
 */
export class LocalAgentDataConnector implements AgentDataBackend {
  static readonly connectorName = 'Local';
  static readonly settingsClass = LocalAgentDataSettings;

  private readonly devDir?: string;
  private readonly prodDir?: string;
  private index: Index = { dev: new Map(), prod: new Map() };
  /** Listing stamps of the directories at the last scan. */
  private dirStamps = new Map<string, string>();
  /** Files warned about, with the stamp warned for: an unchanged bad file warns once. */
  private readonly warned = new Map<string, string>();
  private readonly watcher: DebouncedWatch;
  private closed = true;

  constructor(
    private readonly settings: LocalAgentDataSettings = new LocalAgentDataSettings(),
    private readonly context: ConnectorContext = createConnectorContext({ subsystem: 'AgentData', connector: 'Local' }),
  ) {
    this.devDir = settings.devDir === undefined ? undefined : path.resolve(settings.devDir);
    this.prodDir = settings.prodDir === undefined ? undefined : path.resolve(settings.prodDir);
    this.watcher = new DebouncedWatch(() => this.scanOnce(), {
      logger: context.logger,
      debounceMs: settings.debounceMs ?? 100,
      what: 'the agent directories',
    });
  }

  async connect(): Promise<void> {
    const dirs = [this.devDir, this.prodDir].filter((dir): dir is string => dir !== undefined);
    if (dirs.length === 0) throw new SreConfigError([`${labelOf(this.context)}: set devDir and/or prodDir`]);
    for (const dir of dirs) {
      const stat = await fsp.stat(dir).catch(() => undefined);
      if (!stat?.isDirectory()) throw new SreConfigError([`${labelOf(this.context)}: ${dir} is not a directory`]);
    }
    this.closed = false;
    await this.rescan();
    if (this.settings.watch !== false)
      for (const dir of dirs) this.watcher.watch(dir, { ifUnwatchable: 'misses still re-scan it' });
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    await this.watcher.close();
  }

  async getAgentData(agentId: string, version?: string): Promise<AgentDataRecord | undefined> {
    const found = await this.lookup(() => this.copyOf(agentId, version));
    return found && { data: structuredClone(found.data), version: found.version };
  }

  async getAgentSettings(agentId: string, version?: string): Promise<Record<string, unknown>> {
    const found = await this.lookup(() => this.copyOf(agentId, version));
    return structuredClone(found?.data.settings ?? {});
  }

  async getAgentIdByDomain(domain: string): Promise<string | undefined> {
    return this.lookup(() => {
      for (const id of this.ids()) if (this.copiesOf(id).some((copy) => domainsOf(copy).includes(domain))) return id;
      return undefined;
    });
  }

  async getAgentEmbodiments(agentId: string): Promise<unknown[]> {
    return embodimentsOf(await this.lookup(() => this.mainCopy(agentId)));
  }

  async isDeployed(agentId: string): Promise<boolean> {
    return (await this.lookup(() => (this.index.prod.has(agentId) ? true : undefined))) === true;
  }

  async listTeamAgents(
    teamId: string,
    deployedOnly: boolean,
    includeData: boolean,
  ): Promise<Record<string, unknown>[]> {
    await this.refreshIfChanged();
    return [...this.ids()]
      .map((id) => ({ id, data: this.mainCopy(id)!, deployed: this.index.prod.has(id) }))
      .filter(({ data, deployed }) => teamOf(data) === teamId && (!deployedOnly || deployed))
      .map(({ id, data, deployed }) => ({
        id,
        name: data.name,
        deployed,
        ...(includeData ? { data: structuredClone(data) } : {}),
      }));
  }

  getAgentConfig(agentId: string): Record<string, unknown> | undefined {
    const settings = this.mainCopy(agentId)?.settings;
    return settings && structuredClone(settings);
  }

  /** Scans both directories now (what `watch` does on a change). */
  rescan(): Promise<void> {
    return this.watcher.run();
  }

  private async scanOnce(): Promise<void> {
    if (this.closed) return;
    const stamps = new Map<string, string>();
    const dev = this.devDir ? await this.scanDir(this.devDir, stamps) : [];
    const prod = this.prodDir ? await this.scanDir(this.prodDir, stamps) : [];
    if (this.closed) return;
    this.index = { dev: this.indexDev(dev), prod: this.indexProd(prod) };
    this.dirStamps = stamps;
  }

  /** The answer from the index; on a miss, again after re-scanning a directory that changed. */
  private async lookup<T>(find: () => T | undefined): Promise<T | undefined> {
    const found = find();
    if (found !== undefined) return found;
    return (await this.refreshIfChanged()) ? find() : undefined;
  }

  /** Re-scans when a directory's listing changed since the last scan; true when it did. */
  private async refreshIfChanged(): Promise<boolean> {
    if (this.closed) return false;
    for (const dir of [this.devDir, this.prodDir]) {
      if (dir === undefined) continue;
      if ((await this.stampOf(dir)) !== this.dirStamps.get(dir)) {
        await this.rescan();
        return true;
      }
    }
    return false;
  }

  private async stampOf(dir: string): Promise<string> {
    const stat = await fsp.stat(dir).catch(() => undefined);
    return stat ? `${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}` : 'missing';
  }

  /** The parsed agent files of one directory, in file-name order; bad files warned about and skipped. */
  private async scanDir(
    dir: string,
    stamps: Map<string, string>,
  ): Promise<{ id: string; data: AgentDefinition; file: string }[]> {
    // the stamp before the listing: a file added during the scan makes the next miss re-scan
    stamps.set(dir, await this.stampOf(dir));
    let names: string[];
    try {
      names = (await fsp.readdir(dir)).filter(isAgentFile).sort();
    } catch (error) {
      this.warnOnce(
        dir,
        'listing',
        `cannot list ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'}); serving no agent from it`,
      );
      return [];
    }
    const agents: { id: string; data: AgentDefinition; file: string }[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      let text: string;
      let stamp: string;
      try {
        const stat = await fsp.stat(file);
        if (!stat.isFile()) continue;
        stamp = `${stat.mtimeMs}:${stat.size}`;
        text = await fsp.readFile(file, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT')
          this.warnOnce(file, code ?? 'error', `skipping agent file ${file}: cannot read it (${code})`);
        continue;
      }
      const parsed = parseAgentFile(file, text);
      if (typeof parsed === 'string') {
        this.warnOnce(file, stamp, `skipping agent file ${file}: ${parsed}`);
        continue;
      }
      this.warned.delete(file);
      agents.push({ ...parsed, file });
    }
    return agents;
  }

  private indexDev(agents: { id: string; data: AgentDefinition; file: string }[]): Map<string, AgentDefinition> {
    const dev = new Map<string, AgentDefinition>();
    for (const { id, data, file } of agents) {
      if (dev.has(id))
        this.warnOnce(file, `dup:${id}`, `skipping agent file ${file}: another file already defines agent '${id}'`);
      else dev.set(id, data);
    }
    return dev;
  }

  private indexProd(
    agents: { id: string; data: AgentDefinition; file: string }[],
  ): Map<string, Map<string, AgentDefinition>> {
    const byId = new Map<string, [string, AgentDefinition][]>();
    for (const { id, data, file } of agents) {
      const version = data.version ?? DEFAULT_VERSION;
      const copies = byId.get(id) ?? [];
      if (copies.some(([known]) => known === version)) {
        this.warnOnce(
          file,
          `dup:${id}@${version}`,
          `skipping agent file ${file}: another file already deploys agent '${id}' version ${version}`,
        );
        continue;
      }
      copies.push([version, data]);
      byId.set(id, copies);
    }
    return new Map(
      [...byId].map(([id, copies]) => [id, new Map(copies.sort(([a], [b]) => compareVersions(a, b)))] as const),
    );
  }

  private warnOnce(file: string, stamp: string, message: string): void {
    if (this.warned.get(file) === stamp) return;
    this.warned.set(file, stamp);
    this.context.logger.warn(message);
  }

  private ids(): Set<string> {
    return new Set([...this.index.dev.keys(), ...this.index.prod.keys()]);
  }

  /** Development copy, else the latest deployed one. */
  private mainCopy(agentId: string): AgentDefinition | undefined {
    return this.index.dev.get(agentId) ?? [...(this.index.prod.get(agentId)?.values() ?? [])].at(-1);
  }

  private copiesOf(agentId: string): AgentDefinition[] {
    const dev = this.index.dev.get(agentId);
    return [...(dev ? [dev] : []), ...(this.index.prod.get(agentId)?.values() ?? [])];
  }

  private copyOf(agentId: string, version?: string): { data: AgentDefinition; version: string } | undefined {
    if (version === undefined) {
      const data = this.index.dev.get(agentId);
      return data && { data, version: data.version ?? DEFAULT_VERSION };
    }
    const deployed = [...(this.index.prod.get(agentId) ?? [])];
    const found = version === 'latest' ? deployed.at(-1) : deployed.find(([name]) => name === version);
    return found && { data: found[1], version: found[0] };
  }
}
