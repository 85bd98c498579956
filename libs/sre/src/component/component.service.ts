import { SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { scopeOf } from '../security/scope';
import { READ, SecureConnector, WRITE } from '../security/secure-connector';

/** A component as the agent runtime uses it (an instance with its `process` method, typically). */
export type ComponentInstance = object;

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

/**
 * The registry of agent components: the contract, the injection token, and the base class of every
 * Component connector. Reading is open to everyone; writing the global registry is reserved to the
 * application (`registerGlobal`, not reachable through a requester), and a requester writes only
 * its own team's overlay. The original let any reader overwrite a component for every tenant (W10).
 */
export abstract class ComponentService extends SecureConnector {
  // The backend. `team` is `undefined` for the global registry. Names are validated and access is
  // checked before these run.

  /** The component registered under `name` in that registry, or `undefined`. */
  protected abstract readComponent(team: string | undefined, name: string): Promise<ComponentInstance | undefined>;
  /** Every component of that registry (only that registry: no overlay). */
  protected abstract listComponents(team: string | undefined): Promise<Record<string, ComponentInstance>>;
  /** Registers or replaces. */
  protected abstract writeComponent(team: string | undefined, name: string, instance: ComponentInstance): Promise<void>;

  /** The global registry is readable by everyone; a team's overlay is owned by the team. */
  protected getResourceACL(resourceId: string): ACL | undefined {
    if (resourceId === GLOBAL_REGISTRY) return new ACL().addPublicAccess('read');
    const scope = scopeOf(resourceId);
    return scope?.role === 'team' ? new ACL().addAccess('team', scope.id, 'owner') : undefined;
  }

  /** Registers a component for every team: for application code (boot, plugins), never for a caller. */
  async registerGlobal(name: string, instance: ComponentInstance): Promise<void> {
    this.check(name, instance);
    const pending = this.ensureReady();
    if (pending) await pending;
    await this.writeComponent(undefined, name, instance);
  }

  requester(candidate: AccessCandidate): ComponentRequester {
    // the overlay to read, or `undefined` when the candidate has no team
    const readableTeam = async (): Promise<string | undefined> => {
      await this.authorize(candidate, READ, GLOBAL_REGISTRY);
      const team = await this.teamOf(candidate);
      if (!team) return undefined;
      await this.authorize(candidate, READ, `teams/${team}/${GLOBAL_REGISTRY}`);
      return team;
    };
    return {
      candidate,
      get: async <T extends ComponentInstance>(name: string) => {
        assertKey(name, 'component name', this.source(), MAX_NAME_BYTES);
        const team = await readableTeam();
        const own = team === undefined ? undefined : await this.readComponent(team, name);
        return (own ?? (await this.readComponent(undefined, name))) as T | undefined;
      },
      getAll: async () => {
        const team = await readableTeam();
        return {
          ...(await this.listComponents(undefined)),
          ...(team === undefined ? {} : await this.listComponents(team)),
        };
      },
      register: async (name, instance) => {
        this.check(name, instance);
        const team = await this.requireTeam(candidate);
        await this.authorize(candidate, WRITE, `teams/${team}/${GLOBAL_REGISTRY}/${name}`);
        await this.writeComponent(team, name, instance);
      },
    };
  }

  private check(name: string, instance: ComponentInstance): void {
    assertKey(name, 'component name', this.source(), MAX_NAME_BYTES);
    if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function')) {
      throw new SreInvalidInputError('a component must be an object', this.source());
    }
  }
}
