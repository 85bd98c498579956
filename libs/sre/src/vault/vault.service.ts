import { SreAccessDeniedError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { SecureConnector } from '../security/secure-connector';

/** What one candidate may read. Every call is scoped by the candidate's team. */
export interface VaultRequester {
  readonly candidate: AccessCandidate;
  /** The secret of the candidate's team (else of the shared team, when configured), or `undefined`. */
  get(key: string): Promise<string | undefined>;
  /** True when `get(key)` would return a value. */
  exists(key: string): Promise<boolean>;
  /** The keys `get` can return: the team's, plus the shared team's when configured. Sorted. */
  listKeys(): Promise<string[]>;
  /**
   * Replaces every `{{KEY(name)}}` in `text` with the secret `name`; a missing secret leaves its
   * name (the original's behaviour). Failures are thrown, never replaced.
   */
  resolveTemplate(text: string): Promise<string>;
}

/** What a Vault connector implements: plain lookups in one team's namespace. */
export interface VaultBackend {
  /** The secret, or `undefined` when the team or key is missing. Throws only when the backend fails. */
  getSecret(team: string, key: string): Promise<string | undefined>;
  /** The keys of one team (`[]` for an unknown team). */
  listSecretKeys(team: string): Promise<string[]>;
}

const KEY_TEMPLATE = /\{\{\s*KEY\(\s*([^)}]+?)\s*\)\s*\}\}/g;

/**
 * Read-only secrets, one namespace per team: the contract, injection token and base class of
 * every Vault connector. A candidate reads its own team's namespace only: a team is its own team,
 * a user or agent acts for the team the Account subsystem resolves, and a candidate with no team
 * is denied. The decision is the original's ACL (key in the team: the team owns it; key only in
 * the shared team: the candidate may read it) computed directly from the namespace, except that a
 * missing key reads as `undefined` instead of a denial: the namespace is the caller's own, so
 * absence tells it nothing about anyone else.
 */
export abstract class VaultService extends SecureConnector implements VaultBackend {
  abstract getSecret(team: string, key: string): Promise<string | undefined>;
  abstract listSecretKeys(team: string): Promise<string[]>;

  /** The team whose secrets back-fill every team; none unless the connector is configured with one (W12). */
  protected get sharedTeam(): string | undefined {
    return undefined;
  }

  requester(candidate: AccessCandidate): VaultRequester {
    const get = async (key: string) => {
      assertKey(key, 'vault key', this.source());
      return this.lookup(await this.teamFor(candidate), key);
    };
    return {
      candidate,
      get,
      exists: async (key) => (await get(key)) !== undefined,
      listKeys: async () => {
        const team = await this.teamFor(candidate);
        const shared = this.sharedTeam;
        const keys = new Set(await this.backend(() => this.listSecretKeys(team)));
        if (shared !== undefined && shared !== team)
          for (const key of await this.backend(() => this.listSecretKeys(shared))) keys.add(key);
        return [...keys].sort();
      },
      resolveTemplate: async (text) => {
        if (!text.includes('{{')) return text;
        const names = new Set<string>();
        for (const match of text.matchAll(KEY_TEMPLATE)) names.add(match[1]);
        if (names.size === 0) return text;
        const values = new Map<string, string>();
        for (const name of names) values.set(name, (await get(name)) ?? name);
        return text.replace(KEY_TEMPLATE, (_, name: string) => values.get(name)!);
      },
    };
  }

  user(id: string): VaultRequester {
    return this.requester(AccessCandidate.user(id));
  }

  team(id: string): VaultRequester {
    return this.requester(AccessCandidate.team(id));
  }

  agent(id: string): VaultRequester {
    return this.requester(AccessCandidate.agent(id));
  }

  /** The original's ACL for a key, so that `hasAccess(candidate, 'read', key)` answers like it. */
  protected async getResourceACL(key: string, candidate: AccessCandidate): Promise<ACL> {
    const acl = new ACL();
    const team = candidate.role === 'team' ? candidate.id : await this.teamResolver.getCandidateTeam(candidate);
    if (team === undefined) return acl;
    if ((await this.getSecret(team, key)) !== undefined) return acl.addAccess('team', team, ['owner', 'read', 'write']);
    const shared = this.sharedTeam;
    if (shared !== undefined && shared !== team && (await this.getSecret(shared, key)) !== undefined)
      acl.grant(candidate, 'read');
    return acl;
  }

  /**
   * The namespace the candidate reads. Resolution failures of the Account backend are thrown as
   * such (W56), never turned into "no team" or "not found".
   */
  protected async teamFor(candidate: AccessCandidate): Promise<string> {
    const pending = this.ensureReady();
    if (pending) await pending;
    if (candidate.role === 'team') return candidate.id;
    let team: string | undefined;
    try {
      team = await this.teamResolver.getCandidateTeam(candidate);
    } catch (error) {
      throw this.wrap(error, "resolving the candidate's team");
    }
    if (team === undefined)
      throw new SreAccessDeniedError(this.source(), 'Access Denied: the candidate belongs to no team');
    return team;
  }

  private async lookup(team: string, key: string): Promise<string | undefined> {
    const own = await this.backend(() => this.getSecret(team, key));
    if (own !== undefined) return own;
    const shared = this.sharedTeam;
    return shared !== undefined && shared !== team ? this.backend(() => this.getSecret(shared, key)) : undefined;
  }

  private async backend<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.wrap(error, 'reading the vault');
    }
  }
}
