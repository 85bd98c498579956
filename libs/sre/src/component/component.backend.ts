import type { MaybePromise, SreBackend } from '../core/backend';

/** A component as the agent runtime uses it (an instance with its `process` method, typically). */
export type ComponentInstance = object;

/**
 * What a Component connector implements: registries of components by name, the global one
 * (`team` undefined: the built-ins and what the application registered) and one overlay per team.
 * Names arrive validated and access decided; a backend keeps the registries apart and hands back
 * the very instance it was given. A registry in memory may answer synchronously.
 */
export interface ComponentBackend extends SreBackend {
  /** The component registered under `name` in that registry, or `undefined`. */
  readComponent(team: string | undefined, name: string): MaybePromise<ComponentInstance | undefined>;
  /** Every component of that registry only (no overlay); `{}` for a registry never written. */
  listComponents(team: string | undefined): MaybePromise<Record<string, ComponentInstance>>;
  /** Registers `instance` under `name` in that registry, replacing what was there. */
  writeComponent(team: string | undefined, name: string, instance: ComponentInstance): MaybePromise<void>;
}

/** Every operation of `ComponentBackend` (a custom connector lacking one is refused at boot). */
export const COMPONENT_OPERATIONS = ['readComponent', 'listComponents', 'writeComponent'] as const;
