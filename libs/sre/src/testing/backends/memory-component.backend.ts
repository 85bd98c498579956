import type { ComponentBackend, ComponentInstance } from '../../component/component.backend';

/** The components a `MemoryComponentBackend` starts with. */
export interface MemoryComponentOptions {
  /** The global registry (the built-ins your tests need). */
  components?: Record<string, ComponentInstance>;
  /** Team overlays by team id. */
  teams?: Record<string, Record<string, ComponentInstance>>;
}

/**
 * A Component backend in memory, for your tests: one map per registry, instances kept by reference
 * (`get` answers the very object registered). Answers synchronously.
 */
export class MemoryComponentBackend implements ComponentBackend {
  static readonly connectorName = 'MemoryComponent';

  /** `''` keys the global registry: no team id is empty. */
  private readonly registries = new Map<string, Map<string, ComponentInstance>>();

  constructor(options: MemoryComponentOptions = {}) {
    for (const [name, instance] of Object.entries(options.components ?? {}))
      this.writeComponent(undefined, name, instance);
    for (const [team, components] of Object.entries(options.teams ?? {}))
      for (const [name, instance] of Object.entries(components)) this.writeComponent(team, name, instance);
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  readComponent(team: string | undefined, name: string): ComponentInstance | undefined {
    return this.registries.get(team ?? '')?.get(name);
  }

  listComponents(team: string | undefined): Record<string, ComponentInstance> {
    return Object.fromEntries(this.registries.get(team ?? '') ?? []);
  }

  writeComponent(team: string | undefined, name: string, instance: ComponentInstance): void {
    const id = team ?? '';
    let registry = this.registries.get(id);
    if (!registry) this.registries.set(id, (registry = new Map()));
    registry.set(name, instance);
  }
}
