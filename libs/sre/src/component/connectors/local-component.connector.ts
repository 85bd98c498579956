import type { DiscoveryService } from '@nestjs/core';
import { STATIC_CONTEXT } from '@nestjs/core/injector/constants';
import { createConnectorContext, labelOf, type ConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import type { ComponentBackend, ComponentInstance } from '../component.backend';
import { SRE_COMPONENT_METADATA } from '../component.decorator';

/** `LocalComponent` takes no settings. */
export type LocalComponentSettings = Record<string, never>;

/** What the Component module hands `LocalComponent` (`uses`): Nest's `DiscoveryService`, when present. */
export interface LocalComponentDeps {
  discovery?: DiscoveryService;
}

type Wrapper = ReturnType<DiscoveryService['getProviders']>[number];

/**
 * The in-process Component registry: one map per registry (global, and one per team), instances
 * kept by reference. Given Nest's `DiscoveryService` (the Component module provides it), it also
 * registers every provider marked `@SreComponent(name)` in the global registry: on the first
 * operation, and again on each later one until every marked provider has been instantiated.
 * A discovered provider never replaces a component registered otherwise (`registerGlobal` wins);
 * two providers marked with one name, or a marked provider that is not a singleton, are refused
 * with an `SreConfigError`. Answers synchronously.
 */
export class LocalComponentConnector implements ComponentBackend {
  static readonly connectorName = 'LocalComponent';

  /** `''` keys the global registry: no team id is empty. */
  private readonly registries = new Map<string, Map<string, ComponentInstance>>();
  private readonly discovery: DiscoveryService | undefined;
  /** The marked providers already looked at (registered, or skipped for an existing name). */
  private readonly discovered = new Set<Wrapper>();
  /** True while some marked provider may still be waiting to be instantiated. */
  private pending: boolean;

  constructor(
    _settings: LocalComponentSettings | object = {},
    private readonly context: ConnectorContext<LocalComponentDeps> = createConnectorContext({
      subsystem: 'Component',
      connector: 'LocalComponent',
    }),
  ) {
    this.discovery = context.deps?.discovery;
    this.pending = this.discovery !== undefined;
  }

  async connect(): Promise<void> {}

  async disconnect(): Promise<void> {}

  readComponent(team: string | undefined, name: string): ComponentInstance | undefined {
    this.discover();
    return this.registries.get(team ?? '')?.get(name);
  }

  listComponents(team: string | undefined): Record<string, ComponentInstance> {
    this.discover();
    return Object.fromEntries(this.registries.get(team ?? '') ?? []);
  }

  writeComponent(team: string | undefined, name: string, instance: ComponentInstance): void {
    this.discover();
    this.registry(team).set(name, instance);
  }

  private registry(team: string | undefined): Map<string, ComponentInstance> {
    const id = team ?? '';
    let registry = this.registries.get(id);
    if (!registry) this.registries.set(id, (registry = new Map()));
    return registry;
  }

  /** Registers the `@SreComponent` providers instantiated since the last look. */
  private discover(): void {
    if (!this.pending || !this.discovery) return;
    const label = labelOf(this.context);
    const byName = new Map<string, Wrapper>();
    let waiting = false;
    for (const wrapper of this.discovery.getProviders({ metadataKey: SRE_COMPONENT_METADATA.KEY })) {
      const name = this.discovery.getMetadataByDecorator(SRE_COMPONENT_METADATA, wrapper);
      const provider = String(wrapper.name);
      if (typeof name !== 'string') continue;
      if (wrapper.isTransient || !wrapper.isDependencyTreeStatic())
        throw new SreConfigError([
          `${label}: @SreComponent('${name}') marks ${provider}, which is not a singleton; a component is one instance shared by every caller (use the default scope)`,
        ]);
      const other = byName.get(name);
      if (other !== undefined)
        throw new SreConfigError([
          `${label}: @SreComponent('${name}') marks two providers (${String(other.name)} and ${provider}); give each component its own name`,
        ]);
      byName.set(name, wrapper);
      if (this.discovered.has(wrapper)) continue;
      const host = wrapper.getInstanceByContextId(STATIC_CONTEXT);
      if (!host?.isResolved || host.instance === null || host.instance === undefined) {
        waiting = true;
        continue;
      }
      this.discovered.add(wrapper);
      const global = this.registry(undefined);
      if (global.has(name)) {
        this.context.logger.warn(
          `@SreComponent('${name}') on ${provider} not registered: a component of that name is registered already`,
        );
        continue;
      }
      global.set(name, host.instance as ComponentInstance);
    }
    this.pending = waiting;
  }
}
