import type { ConnectorContext } from '../core/backend';
import { SreBackendError, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate, type Level } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { scopeOf } from '../security/scope';
import { READ, SecureService, WRITE, type SecureServiceDeps } from '../security/secure-service';
import type { ComponentBackend, ComponentInstance } from './component.backend';

export type { ComponentBackend, ComponentInstance } from './component.backend';
export { COMPONENT_OPERATIONS } from './component.backend';

/**
 * The components one candidate sees: the global registry (the built-ins and what the application
 * registered) overlaid with its own team's registrations. A team's registration never reaches
 * another team (W10).
 */
export interface ComponentRequester {
  readonly candidate: AccessCandidate;
  /** The team's component of that name, else the global one, else `undefined`. Needs read. */
  get<T extends ComponentInstance = ComponentInstance>(name: string): Promise<T | undefined>;
  /** Every global component, with the team's registrations replacing same-named ones. Needs read. */
  getAll(): Promise<Record<string, ComponentInstance>>;
  /**
   * Registers (or replaces) a component for the candidate's team only. Needs write on the team's
   * registry; a candidate without a team is denied.
   */
  register(name: string, instance: ComponentInstance): Promise<void>;
}

const MAX_NAME_BYTES = 128;
const GLOBAL_REGISTRY = 'components';

function isInstance(value: unknown): value is ComponentInstance {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

/**
 * The registry of agent components: what you inject. Reading is open to everyone; writing the
 * global registry is reserved to the application (`registerGlobal`, not reachable through a
 * requester), and a requester writes only its own team's overlay. The original let any reader
 * overwrite a component for every tenant (W10).
 */
export class ComponentService extends SecureService<ComponentBackend> {
  constructor(backend: ComponentBackend, context: ConnectorContext | undefined, deps: SecureServiceDeps) {
    super(backend, context, deps);
  }

  /** Registers a component for every team: for application code (boot, plugins), never for a caller. */
  async registerGlobal(name: string, instance: ComponentInstance): Promise<void> {
    this.check(name, instance);
    await this.call('registering a component', () => this.backend.writeComponent(undefined, name, instance));
  }

  /** True when `candidate` holds every level in `levels` on `resourceId` (`components`, `teams/<T>/components/…`). */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    return this.allows(candidate, levels, resourceId, this.aclOf(resourceId));
  }

  requester(candidate: AccessCandidate): ComponentRequester {
    // the overlay to read, or `undefined` when the candidate has no team
    const readableTeam = async (): Promise<string | undefined> => {
      await this.authorize(candidate, READ, GLOBAL_REGISTRY, this.aclOf(GLOBAL_REGISTRY));
      const team = await this.teamOf(candidate);
      if (!team) return undefined;
      const overlay = `teams/${team}/${GLOBAL_REGISTRY}`;
      await this.authorize(candidate, READ, overlay, this.aclOf(overlay));
      return team;
    };
    return {
      candidate,
      get: async <T extends ComponentInstance>(name: string) => {
        assertKey(name, 'component name', this.source(), MAX_NAME_BYTES);
        const team = await readableTeam();
        const own = team === undefined ? undefined : await this.read(team, name);
        return (own ?? (await this.read(undefined, name))) as T | undefined;
      },
      getAll: async () => {
        const team = await readableTeam();
        const global = await this.list(undefined);
        return team === undefined ? global : { ...global, ...(await this.list(team)) };
      },
      register: async (name, instance) => {
        this.check(name, instance);
        const team = await this.requireTeam(candidate);
        const id = `teams/${team}/${GLOBAL_REGISTRY}/${name}`;
        await this.authorize(candidate, WRITE, id, this.aclOf(id));
        await this.call('registering a component', () => this.backend.writeComponent(team, name, instance));
      },
    };
  }

  agent(id: string): ComponentRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  user(id: string): ComponentRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): ComponentRequester {
    return this.requester(AccessCandidate.team(id));
  }

  /** The global registry is readable by everyone; a team's overlay is owned by the team. */
  private aclOf(resourceId: string): ACL | undefined {
    if (resourceId === GLOBAL_REGISTRY) return new ACL().addPublicAccess('read');
    const scope = scopeOf(resourceId);
    return scope?.role === 'team' ? new ACL().addAccess('team', scope.id, 'owner') : undefined;
  }

  private async read(team: string | undefined, name: string): Promise<ComponentInstance | undefined> {
    const found = await this.call('reading a component', () => this.backend.readComponent(team, name));
    if (found !== undefined && !isInstance(found)) throw this.broken('a component that is not an object');
    return found;
  }

  private async list(team: string | undefined): Promise<Record<string, ComponentInstance>> {
    const found = await this.call('listing components', () => this.backend.listComponents(team));
    if (typeof found !== 'object' || found === null || Array.isArray(found))
      throw this.broken('a list that is not an object');
    const entries = Object.entries(found);
    if (!entries.every(([, instance]) => isInstance(instance))) throw this.broken('a component that is not an object');
    // a copy (the caller cannot edit the backend's registry), built with own properties: a component
    // named `__proto__` stays a name
    return Object.fromEntries(entries);
  }

  private check(name: string, instance: ComponentInstance): void {
    assertKey(name, 'component name', this.source(), MAX_NAME_BYTES);
    if (!isInstance(instance)) throw new SreInvalidInputError('a component must be an object', this.source());
  }

  private broken(what: string): SreBackendError {
    return new SreBackendError(`${this.label()}: the connector answered ${what}`, this.source());
  }
}
