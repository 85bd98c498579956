import type { Version } from '../../core/backend';
import type {
  ModelEntry,
  ModelMap,
  ModelsProviderBackend,
  TeamModels,
} from '../../models-provider/models-provider.backend';

export interface MemoryModelsProviderOptions {
  /** The global list. */
  models?: ModelMap;
  /** Limits of enterprise models by foundation model (what a catalogue knows of its built-ins). */
  customModelDefaults?: Record<string, Partial<ModelEntry>>;
}

/**
 * A ModelsProvider backend in memory: a fixed global list and each team's additions, versioned by a
 * counter. Everything is copied in and out, so that a test that mutates a map it gave or got cannot
 * reach into the backend.
 */
export class MemoryModelsProviderBackend implements ModelsProviderBackend {
  static readonly connectorName = 'MemoryModelsProvider';

  /** How many times the global list was read (tests check that a requester reads once). */
  reads = 0;
  private readonly models: ModelMap;
  private readonly defaults: ReadonlyMap<string, Partial<ModelEntry>>;
  private readonly teams = new Map<string, { models: ModelMap; version: number }>();
  private writes = 0;

  constructor(options: MemoryModelsProviderOptions = {}) {
    this.models = structuredClone(options.models ?? {});
    this.defaults = new Map(Object.entries(options.customModelDefaults ?? {}));
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  readModels(): ModelMap {
    this.reads++;
    return structuredClone(this.models);
  }

  readTeamModels(teamId: string): TeamModels | undefined {
    const stored = this.teams.get(teamId);
    return stored && { models: structuredClone(stored.models), version: stored.version };
  }

  writeTeamModels(teamId: string, models: ModelMap, ifVersion: Version | undefined): boolean {
    if (this.teams.get(teamId)?.version !== ifVersion) return false;
    this.teams.set(teamId, { models: structuredClone(models), version: ++this.writes });
    return true;
  }

  customModelDefaults(foundationModel: string): Partial<ModelEntry> | undefined {
    const found = this.defaults.get(foundationModel);
    return found && { ...found };
  }
}
