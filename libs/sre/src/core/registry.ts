import type { ConnectorContext, SreConnector } from './connector';

/** A connector class: built with its validated settings and the context the module gives it. */
export interface ConnectorClass<T = SreConnector> {
  new (settings: any, context: ConnectorContext): T;
  /** Registry name; custom connectors default to the class name. */
  readonly connectorName?: string;
  /** class-validator class describing the settings; absent means "takes no settings". */
  readonly settingsClass?: new () => object;
}

/**
 * The connectors of one subsystem, by name. `planned` names belong to the seed but arrive in a
 * later version: asking for one says so instead of calling it unknown.
 */
export class ConnectorRegistry<T = SreConnector> {
  private readonly classes = new Map<string, ConnectorClass<T>>();
  private readonly planned = new Set<string>();

  constructor(readonly subsystem: string) {}

  register(name: string, cls: ConnectorClass<T>): this {
    if (this.classes.has(name) && this.classes.get(name) !== cls) {
      throw new Error(`${this.subsystem}: a connector named '${name}' is already registered`);
    }
    this.classes.set(name, cls);
    this.planned.delete(name);
    return this;
  }

  plan(...names: string[]): this {
    for (const name of names) if (!this.classes.has(name)) this.planned.add(name);
    return this;
  }

  get(name: string): ConnectorClass<T> | undefined {
    return this.classes.get(name);
  }

  has(name: string): boolean {
    return this.classes.has(name);
  }

  isPlanned(name: string): boolean {
    return this.planned.has(name);
  }

  names(): string[] {
    return [...this.classes.keys()];
  }

  /** The sentence for a name that is not registered. */
  describeMissing(name: string): string {
    const available = this.names().join(', ') || 'none yet';
    return this.planned.has(name)
      ? `connector '${name}' is not available in this version of nestjs-sre (available: ${available})`
      : `unknown connector '${name}' (valid connectors: ${available})`;
  }
}
