import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';
import { AccessCandidate, CANDIDATE_ID_PATTERN, type Level } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { SecureService } from '../security/secure-service';
import type { VaultBackend } from './vault.backend';

export type { VaultBackend } from './vault.backend';

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

/** Teams whose merged key list is kept (see `mergedKeys`). */
const MAX_MERGED_KEY_LISTS = 1000;

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const KEY_TEMPLATE = /\{\{\s*KEY\(\s*([^)}]+?)\s*\)\s*\}\}/g;

/**
 * Read-only secrets, one namespace per team: what you inject. A candidate reads its own team's
 * namespace only: a team is its own team, a user or agent acts for the team the Account subsystem
 * resolves, and a candidate with no team is denied, whatever the connector (NullVault included).
 * The backend answers plain lookups; nothing here lets a caller name another team's namespace.
 * A missing key reads as `undefined` rather than a denial: the namespace is the caller's own, so
 * absence tells it nothing about anyone else.
 */
export class VaultService extends SecureService<VaultBackend> {
  /** `mergedKeys` answers by team, with copies of the lists they were merged from. */
  private readonly mergedKeyLists = new Map<
    string,
    { own: readonly string[]; back: readonly string[] | undefined; keys: readonly string[] }
  >();

  requester(candidate: AccessCandidate): VaultRequester {
    const get = async (key: string) => {
      this.checkKey(key);
      // a team candidate of a connected vault is its own namespace: no promise to wait on for it
      const team = candidate.role === 'team' && this.state === 'ready' ? candidate.id : await this.teamFor(candidate);
      return this.lookup(team, key);
    };
    return {
      candidate,
      get,
      exists: async (key) => (await get(key)) !== undefined,
      listKeys: async () => {
        const team = await this.teamFor(candidate);
        const own = await this.call('listing secret keys', () => this.backend.listSecretKeys(team));
        const shared = this.sharedFor(team);
        const back =
          shared === undefined
            ? undefined
            : await this.call('listing shared secret keys', () => this.backend.listSecretKeys(shared));
        // a copy: the caller may sort or splice what it gets, the memo must stay as it is
        return this.mergedKeys(team, own, back).slice();
      },
      resolveTemplate: async (text) => {
        if (typeof text !== 'string')
          throw new SreInvalidInputError('a vault template must be a string', this.source());
        if (!text.includes('{{')) return text;
        const names = new Set<string>();
        for (const match of text.matchAll(KEY_TEMPLATE)) names.add(match[1]);
        if (names.size === 0) return text;
        for (const name of names) this.checkKey(name);
        const team = await this.teamFor(candidate);
        const values = new Map<string, string>();
        for (const name of names) values.set(name, (await this.lookup(team, name)) ?? name);
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

  /**
   * True when the candidate holds `levels` on `key`, decided on the original's ACL: a key of the
   * candidate's team is owned by that team; a key only the shared team has may be read. Any failure
   * (no team, a resolver or backend error, a malformed key) answers `false`.
   */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], key: string): Promise<boolean> {
    try {
      return await this.allows(candidate, levels, key, await this.aclOf(candidate, key));
    } catch {
      return false;
    }
  }

  private async aclOf(candidate: AccessCandidate, key: string): Promise<ACL> {
    this.checkKey(key);
    const acl = new ACL();
    const team = await this.teamFor(candidate);
    if ((await this.read(team, key)) !== undefined) return acl.addAccess('team', team, ['owner', 'read', 'write']);
    const shared = this.sharedFor(team);
    if (shared !== undefined && (await this.read(shared, key)) !== undefined) acl.grant(candidate, 'read');
    return acl;
  }

  /**
   * The namespace the candidate reads. Unlike `teamOf`, a failing Account backend is thrown as such
   * (W56): an outage must not read as "no team" nor as "not found".
   */
  private async teamFor(candidate: AccessCandidate): Promise<string> {
    const pending = this.ensureReady();
    if (pending) await pending;
    if (candidate.role === 'team') return candidate.id;
    // the anonymous principal never acts for a team, whatever an Account connector answers for it
    if (candidate.role === 'public') throw this.noTeam();
    let team: unknown;
    try {
      team = await this.teams.getCandidateTeam(candidate);
    } catch (error) {
      throw this.wrap(error, "resolving the candidate's team");
    }
    // team ids end up in backend names and paths: an answer outside the id grammar is no team
    if (typeof team !== 'string' || !CANDIDATE_ID_PATTERN.test(team)) throw this.noTeam();
    return team;
  }

  /**
   * The sorted union of a team's keys and its shared team's. Keys change rarely and listing is
   * frequent: when both lists hold what they held on the team's last call (compared in place, no
   * allocation), the union of then is the answer, without a Set, a spread and a sort.
   */
  private mergedKeys(team: string, own: readonly string[], back: readonly string[] | undefined): readonly string[] {
    const known = this.mergedKeyLists.get(team);
    if (known !== undefined && sameList(known.own, own) && sameList(known.back, back)) return known.keys;
    const keys = back === undefined ? [...new Set(own)].sort() : [...new Set([...own, ...back])].sort();
    // bounded: one entry per team that lists, dropped all at once past the bound
    if (this.mergedKeyLists.size >= MAX_MERGED_KEY_LISTS) this.mergedKeyLists.clear();
    this.mergedKeyLists.set(team, { own: own.slice(), back: back?.slice(), keys });
    return keys;
  }

  /** The shared team that back-fills `team`, or `undefined` (none configured, or `team` is it). */
  private sharedFor(team: string): string | undefined {
    const shared = this.backend.sharedTeam;
    return typeof shared === 'string' && shared !== team && CANDIDATE_ID_PATTERN.test(shared) ? shared : undefined;
  }

  private async lookup(team: string, key: string): Promise<string | undefined> {
    const own = await this.read(team, key);
    if (own !== undefined) return own;
    const shared = this.sharedFor(team);
    return shared === undefined ? undefined : this.read(shared, key);
  }

  private async read(team: string, key: string): Promise<string | undefined> {
    // `call`'s checks inline, with one await of the backend's promise rather than a chained catch
    const pending = this.ensureReady();
    if (pending) await pending;
    let value: unknown;
    try {
      value = await this.backend.getSecret(team, key);
    } catch (error) {
      throw this.wrap(error, 'reading a secret');
    }
    return typeof value === 'string' ? value : undefined;
  }

  private checkKey(key: unknown): asserts key is string {
    assertKey(key, 'vault key', this.source());
  }

  private noTeam(): SreAccessDeniedError {
    return this.denied('Access Denied: the candidate belongs to no team');
  }
}
