import { SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { scopeOf } from '../security/scope';
import { READ, SecureConnector, WRITE } from '../security/secure-connector';

/**
 * The operations of one candidate on its team's runtime-written secrets (OAuth tokens and the
 * like). The team is resolved from the candidate by the Account subsystem and no call can name
 * another team; a candidate that resolves to no team is denied.
 */
export interface ManagedVaultRequester {
  readonly candidate: AccessCandidate;
  /** The secret exactly as it was set, or `undefined` when it does not exist. Needs read. */
  get(key: string): Promise<string | undefined>;
  /** Creates or replaces the secret; re-creating one deleted earlier works. Needs write. */
  set(key: string, value: string): Promise<void>;
  /** Removes the secret; a missing one is a no-op. Needs write. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

const MAX_KEY_BYTES = 256;

/**
 * Secrets written at run time, one namespace per team: the contract, the injection token, and the
 * base class of every ManagedVault connector. The access rule lives here, the same for every
 * backend: the candidate's team owns its namespace, members read and write it, nobody else reaches
 * it. A connector that keeps nothing (NullManagedVault) accepts `set`/`delete` and drops them, reads
 * `undefined` and `exists` false, instead of denying writes the way the original's read-only ACL
 * did (W18).
 */
export abstract class ManagedVaultService extends SecureConnector {
  // The backend. Team and key are validated and access is checked before these run. A backend
  // stores one encoding whatever the path (create, update, restore: W17), finds a secret by its
  // deterministic name only, and never logs or throws a value.

  /** The secret, or `undefined`. A secret pending deletion is missing. */
  protected abstract readSecret(team: string, key: string): Promise<string | undefined>;
  /** Creates or replaces the secret (restoring one pending deletion). */
  protected abstract writeSecret(team: string, key: string, value: string): Promise<void>;
  /** A missing secret is a no-op. */
  protected abstract deleteSecret(team: string, key: string): Promise<void>;
  protected abstract secretExists(team: string, key: string): Promise<boolean>;

  /** A team owns its namespace: the resource id is `teams/<team>/managed-vault/<key>`. */
  protected getResourceACL(resourceId: string): ACL | undefined {
    const scope = scopeOf(resourceId);
    return scope?.role === 'team' ? new ACL().addAccess('team', scope.id, 'owner') : undefined;
  }

  requester(candidate: AccessCandidate): ManagedVaultRequester {
    const open = async (key: string, need: number): Promise<string> => {
      assertKey(key, 'managed vault key', this.source(), MAX_KEY_BYTES);
      const team = await this.requireTeam(candidate);
      await this.authorize(candidate, need, `teams/${team}/managed-vault/${key}`);
      return team;
    };
    return {
      candidate,
      get: async (key) => this.readSecret(await open(key, READ), key),
      set: async (key, value) => {
        if (typeof value !== 'string')
          throw new SreInvalidInputError('a managed vault value must be a string', this.source());
        await this.writeSecret(await open(key, WRITE), key, value);
      },
      delete: async (key) => this.deleteSecret(await open(key, WRITE), key),
      exists: async (key) => this.secretExists(await open(key, READ), key),
    };
  }

  user(id: string): ManagedVaultRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): ManagedVaultRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): ManagedVaultRequester {
    return this.requester(AccessCandidate.agent(id));
  }
}
