import { SreInvalidInputError } from '../core/errors';
import { AccessCandidate, Level, LEVELS, PUBLIC_ID, Role, ROLES } from './access-candidate';
import { HashAlgorithm, hashOwnerId } from './hash';

/** The original's plain ACL object, as stored by and passed to connectors (entry keys are hashed ids). */
export interface IACL {
  hashAlgorithm?: HashAlgorithm;
  entries?: Partial<Record<Role, Record<string, Level[]>>>;
  migrated?: boolean;
}

export type AclInput = ACL | IACL | string;

const BIT: Record<Level, number> = { none: 1, owner: 2, read: 4, write: 8 };
const LEVEL_CHAR: Record<Level, string> = { none: 'n', owner: 'o', read: 'r', write: 'w' };
const CHAR_LEVEL: Record<string, Level> = { n: 'none', o: 'owner', r: 'read', w: 'write' };
const ROLE_CHAR: Record<Role, string> = { user: 'u', agent: 'a', team: 't', public: 'p' };
const CHAR_ROLE: Record<string, Role> = { u: 'user', a: 'agent', t: 'team', p: 'public' };

export function levelMask(levels: Level | readonly Level[]): number {
  let mask = 0;
  for (const level of typeof levels === 'string' ? [levels] : levels) {
    const bit = BIT[level];
    if (bit === undefined) throw new SreInvalidInputError(`unknown access level '${String(level)}'`);
    mask |= bit;
  }
  return mask;
}

function maskLevels(mask: number): Level[] {
  return LEVELS.filter((level) => (mask & BIT[level]) !== 0);
}

/**
 * Who may do what with one resource. Levels are kept as bit sets (duplicates collapse, W04) under
 * hashed owner ids; `revoke` really revokes (W05); the public principal has one id (W03).
 * Every mutation bumps `version`, which callers may use to invalidate what they derived from it.
 */
export class ACL {
  private readonly entries = new Map<Role, Map<string, number>>();
  private revision = 0;
  /** The candidate `allowsDirectly` last looked up, at which revision, and its own levels then. */
  private lastCandidate: AccessCandidate | undefined = undefined;
  private lastRevision = -1;
  private lastMask = 0;
  migrated = false;

  constructor(readonly hashAlgorithm: HashAlgorithm = 'xxh3') {
    if (hashAlgorithm !== 'xxh3' && hashAlgorithm !== 'none') {
      throw new SreInvalidInputError(`unknown ACL hash algorithm '${String(hashAlgorithm)}'`);
    }
  }

  get version(): number {
    return this.revision;
  }

  /** Accepts an ACL (copied), the plain IACL object, or the compact string; `undefined` gives an empty ACL. */
  static from(input?: AclInput | null): ACL {
    if (input === undefined || input === null) return new ACL();
    if (input instanceof ACL) return input.clone();
    if (typeof input === 'string') return ACL.parse(input);
    return ACL.fromObject(input);
  }

  static fromObject(input: IACL): ACL {
    if (typeof input !== 'object') throw new SreInvalidInputError('an ACL must be an object or a compact string');
    const acl = new ACL(input.hashAlgorithm ?? 'xxh3');
    acl.migrated = input.migrated === true;
    for (const [role, owners] of Object.entries(input.entries ?? {})) {
      if (!ROLES.includes(role as Role) || !owners) continue;
      for (const [hashedId, levels] of Object.entries(owners)) {
        if (!hashedId) continue;
        acl.grantHashed(role as Role, hashedId, levelMask(Array.isArray(levels) ? levels : [levels as Level]));
      }
    }
    return acl;
  }

  /** Parses the compact form `h:xxh3|u:<hash>/o|t:<hash>/rw`; unknown role characters are ignored. */
  static parse(compact: string): ACL {
    const segments = compact ? compact.split('|') : [];
    let algorithm: HashAlgorithm = 'xxh3';
    if (segments[0]?.startsWith('h:')) algorithm = segments.shift()!.slice(2) as HashAlgorithm;
    const acl = new ACL(algorithm);
    for (const segment of segments) {
      const role = CHAR_ROLE[segment.slice(0, segment.indexOf(':'))];
      if (!role) continue;
      for (const entry of segment.slice(segment.indexOf(':') + 1).split(',')) {
        const slash = entry.lastIndexOf('/');
        if (slash <= 0) continue;
        let mask = 0;
        for (const char of entry.slice(slash + 1)) {
          const level = CHAR_LEVEL[char];
          if (level) mask |= BIT[level];
        }
        acl.grantHashed(role, entry.slice(0, slash), mask);
      }
    }
    return acl;
  }

  clone(): ACL {
    const copy = new ACL(this.hashAlgorithm);
    copy.migrated = this.migrated;
    for (const [role, owners] of this.entries) copy.entries.set(role, new Map(owners));
    return copy;
  }

  hash(id: string): string {
    return hashOwnerId(id, this.hashAlgorithm);
  }

  /** Adds levels for `role:id`. The public principal goes through `addPublicAccess`. */
  addAccess(role: Role, id: string, levels: Level | readonly Level[]): this {
    if (role === 'public') throw new SreInvalidInputError('use addPublicAccess() to grant public access');
    if (!id) throw new SreInvalidInputError('addAccess needs a non-empty id');
    return this.grantHashed(role, this.hash(id), levelMask(levels));
  }

  addPublicAccess(levels: Level | readonly Level[]): this {
    return this.grantHashed('public', this.hash(PUBLIC_ID), levelMask(levels));
  }

  /** Grants to a candidate (any role, including public). */
  grant(candidate: AccessCandidate, levels: Level | readonly Level[]): this {
    return this.grantHashed(candidate.role, this.candidateKey(candidate), levelMask(levels));
  }

  /** Removes the given levels, or every level when none is given. */
  removeAccess(role: Role, id: string, levels?: Level | readonly Level[]): this {
    const owners = this.entries.get(role);
    const key = this.hash(role === 'public' ? PUBLIC_ID : id);
    const current = owners?.get(key);
    if (!owners || current === undefined) return this;
    const remaining = levels === undefined ? 0 : current & ~levelMask(levels);
    if (remaining === current) return this;
    if (remaining === 0) owners.delete(key);
    else owners.set(key, remaining);
    if (owners.size === 0) this.entries.delete(role);
    this.revision++;
    return this;
  }

  removePublicAccess(levels?: Level | readonly Level[]): this {
    return this.removeAccess('public', PUBLIC_ID, levels);
  }

  /** Union with another ACL (ids re-hashed when the algorithms differ and the other side is plain). */
  merge(other: AclInput | null | undefined): this {
    if (other === undefined || other === null) return this;
    const source = other instanceof ACL ? other : ACL.from(other);
    if (source.hashAlgorithm !== this.hashAlgorithm && source.hashAlgorithm !== 'none') {
      throw new SreInvalidInputError(
        `cannot merge an ACL hashed with ${source.hashAlgorithm} into one hashed with ${this.hashAlgorithm}`,
      );
    }
    for (const [role, owners] of source.entries) {
      for (const [key, mask] of owners)
        this.grantHashed(role, source.hashAlgorithm === this.hashAlgorithm ? key : this.hash(key), mask);
    }
    return this;
  }

  /** The levels held exactly by this candidate (no owner implication, no team). */
  levelsOf(candidate: AccessCandidate): Level[] {
    return maskLevels(this.maskOf(candidate.role, this.candidateKey(candidate)));
  }

  /** True iff the candidate's own entry holds every requested level (the original's checkExactAccess). */
  checkExactAccess(candidate: AccessCandidate, levels: Level | readonly Level[]): boolean {
    const need = levelMask(levels);
    return (this.maskOf(candidate.role, this.candidateKey(candidate)) & need) === need;
  }

  /** Own entry holds the levels or `owner`, or the public entry holds the levels. Team comes later. */
  allowsDirectly(candidate: AccessCandidate, need: number): boolean {
    // one ACL is shared by all the keys of a creator, who is also who asks next (every `set` and
    // `get` of one's own keys): the last answer is kept until the ACL changes
    let own: number;
    if (candidate === this.lastCandidate && this.lastRevision === this.revision) own = this.lastMask;
    else {
      own = this.maskOf(candidate.role, this.candidateKey(candidate));
      this.lastCandidate = candidate;
      this.lastRevision = this.revision;
      this.lastMask = own;
    }
    if ((own & need) === need || (own & BIT.owner) !== 0) return true;
    const pub = this.maskOf('public', this.hash(PUBLIC_ID));
    return (pub & need) === need;
  }

  /** The team's entry holds the levels or `owner`. */
  allowsTeam(teamId: string, need: number): boolean {
    const team = this.maskOf('team', this.hash(teamId));
    return (team & need) === need || (team & BIT.owner) !== 0;
  }

  hasTeamEntries(): boolean {
    return (this.entries.get('team')?.size ?? 0) > 0;
  }

  /** True when at least one principal is an owner. */
  hasOwner(): boolean {
    for (const owners of this.entries.values()) for (const mask of owners.values()) if (mask & BIT.owner) return true;
    return false;
  }

  isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** Entries that hold `owner`, as an ACL of their own (used to keep owners across rewrites, W19). */
  owners(): ACL {
    const result = new ACL(this.hashAlgorithm);
    for (const [role, owners] of this.entries)
      for (const [key, mask] of owners) if (mask & BIT.owner) result.grantHashed(role, key, BIT.owner);
    return result;
  }

  toJSON(): IACL {
    const entries: Partial<Record<Role, Record<string, Level[]>>> = {};
    for (const role of ROLES) {
      const owners = this.entries.get(role);
      if (!owners?.size) continue;
      const out: Record<string, Level[]> = {};
      for (const key of [...owners.keys()].sort()) out[key] = maskLevels(owners.get(key)!);
      entries[role] = out;
    }
    return { hashAlgorithm: this.hashAlgorithm, entries, ...(this.migrated ? { migrated: true } : {}) };
  }

  /** Canonical compact form: roles in u,a,t,p order, ids sorted, levels in n,o,r,w order. */
  serialize(): string {
    const parts = [`h:${this.hashAlgorithm}`];
    for (const role of ROLES) {
      const owners = this.entries.get(role);
      if (!owners?.size) continue;
      const items = [...owners.keys()].sort().map(
        (key) =>
          `${key}/${maskLevels(owners.get(key)!)
            .map((l) => LEVEL_CHAR[l])
            .join('')}`,
      );
      parts.push(`${ROLE_CHAR[role]}:${items.join(',')}`);
    }
    return parts.join('|');
  }

  toString(): string {
    return this.serialize();
  }

  private candidateKey(candidate: AccessCandidate): string {
    return this.hashAlgorithm === 'xxh3' ? candidate.hashedId : candidate.id;
  }

  private maskOf(role: Role, key: string): number {
    return this.entries.get(role)?.get(key) ?? 0;
  }

  private grantHashed(role: Role, key: string, mask: number): this {
    if (mask === 0) return this;
    let owners = this.entries.get(role);
    if (!owners) this.entries.set(role, (owners = new Map()));
    const current = owners.get(key) ?? 0;
    if ((current | mask) !== current) {
      owners.set(key, current | mask);
      this.revision++;
    }
    return this;
  }
}
