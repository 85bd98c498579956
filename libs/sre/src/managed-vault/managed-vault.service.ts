import { SreBackendError, SreError, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { redactSecrets } from '../core/secrets';
import { AccessCandidate, CANDIDATE_ID_PATTERN, type Level } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { READ, SecureService, WRITE } from '../security/secure-service';
import type { ManagedVaultBackend } from './managed-vault.backend';

export type { ManagedVaultBackend } from './managed-vault.backend';

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
const RESOURCE_ID = /^teams\/([^/]+)\/managed-vault\/(.+)$/s;
// shorter values are too common in text to be scrubbed from it (as for secret settings)
const MIN_SCRUBBED_LENGTH = 4;

/**
 * Secrets written at run time, one namespace per team: what you inject. The access rule lives
 * here, the same for every backend: the candidate's team owns its namespace
 * (`teams/<team>/managed-vault/<key>`), its members read and write it, nobody else reaches it. A
 * connector that keeps nothing (NullManagedVault) accepts `set`/`delete` and drops them, reads
 * `undefined` and `exists` false, instead of denying writes the way the original's read-only ACL
 * did (W18).
 */
export class ManagedVaultService extends SecureService<ManagedVaultBackend> {
  requester(candidate: AccessCandidate): ManagedVaultRequester {
    const open = async (key: string, need: number): Promise<string> => {
      this.checkKey(key);
      const team = await this.requireTeam(candidate);
      const resourceId = `teams/${team}/managed-vault/${key}`;
      await this.authorize(candidate, need, resourceId, this.aclOf(resourceId));
      return team;
    };
    return {
      candidate,
      get: async (key) => {
        const team = await open(key, READ);
        const value = await this.call('reading a managed secret', () => this.backend.readSecret(team, key));
        return typeof value === 'string' ? value : undefined;
      },
      set: async (key, value) => {
        if (typeof value !== 'string')
          throw new SreInvalidInputError('a managed vault value must be a string', this.source());
        const team = await open(key, WRITE);
        try {
          await this.call('writing a managed secret', () => this.backend.writeSecret(team, key, value));
        } catch (error) {
          throw this.scrub(error, value);
        }
      },
      delete: async (key) => {
        const team = await open(key, WRITE);
        await this.call('deleting a managed secret', () => this.backend.deleteSecret(team, key));
      },
      exists: async (key) => {
        const team = await open(key, READ);
        return (await this.call('checking a managed secret', () => this.backend.secretExists(team, key))) === true;
      },
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

  /**
   * True when the candidate holds `levels` on `teams/<team>/managed-vault/<key>`: the members of
   * `<team>` hold every level, nobody else any. Any other id, or any failure, answers `false`.
   */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    try {
      const acl = this.aclOf(resourceId);
      return acl !== undefined && (await this.allows(candidate, levels, resourceId, acl));
    } catch {
      return false;
    }
  }

  /** The team owns its namespace; `undefined` for an id that names no managed secret. */
  private aclOf(resourceId: string): ACL | undefined {
    const match = typeof resourceId === 'string' ? RESOURCE_ID.exec(resourceId) : null;
    if (!match || !CANDIDATE_ID_PATTERN.test(match[1])) return undefined;
    this.checkKey(match[2]);
    return new ACL().addAccess('team', match[1], 'owner');
  }

  private checkKey(key: unknown): asserts key is string {
    assertKey(key, 'managed vault key', this.source(), MAX_KEY_BYTES);
  }

  /**
   * A write error that quotes the value it was writing loses the quote, and its cause, which
   * quotes it too: the value is a secret, and error messages end up in logs.
   */
  private scrub(error: unknown, value: string): unknown {
    if (!(error instanceof SreError) || value.length < MIN_SCRUBBED_LENGTH || !error.message.includes(value))
      return error;
    return new SreBackendError(redactSecrets(error.message, [value]), this.source());
  }
}
