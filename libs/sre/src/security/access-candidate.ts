import { SreInvalidInputError } from '../core/errors';
import { hashOwnerId } from './hash';

export type Role = 'agent' | 'user' | 'team' | 'public';
export type Level = 'none' | 'owner' | 'read' | 'write';

export const ROLES: readonly Role[] = ['user', 'agent', 'team', 'public'];
export const LEVELS: readonly Level[] = ['none', 'owner', 'read', 'write'];
export const DEFAULT_TEAM_ID = 'default';

/** The one id of the public principal (the original mixed '' and 'public' and never matched: W03). */
export const PUBLIC_ID = 'public';

/** Ids of candidates (and so of teams): letters, digits and hyphen. */
export const CANDIDATE_ID_PATTERN = /^[A-Za-z0-9-]+$/;

/**
 * Who is asking: an agent, a user, a team, or the public. Immutable; the id grammar (letters,
 * digits, hyphen) is the original's and doubles as a guard against ids that smuggle paths.
 */
export class AccessCandidate {
  private hashed?: string;
  private text?: string;

  private constructor(
    readonly role: Role,
    readonly id: string,
  ) {}

  static agent(id: string): AccessCandidate {
    return AccessCandidate.of('agent', id);
  }

  static user(id: string): AccessCandidate {
    return AccessCandidate.of('user', id);
  }

  static team(id: string): AccessCandidate {
    return AccessCandidate.of('team', id);
  }

  static public(): AccessCandidate {
    return PUBLIC;
  }

  static of(role: Role, id: string): AccessCandidate {
    if (role === 'public') return PUBLIC;
    if (!ROLES.includes(role)) throw new SreInvalidInputError(`unknown candidate role '${String(role)}'`);
    if (typeof id !== 'string' || !CANDIDATE_ID_PATTERN.test(id)) {
      throw new SreInvalidInputError(`invalid ${role} id: use letters, digits and '-' only`);
    }
    return new AccessCandidate(role, id);
  }

  /** XXH64 of the id as stored in ACL entries; computed once per candidate. */
  get hashedId(): string {
    return (this.hashed ??= hashOwnerId(this.id));
  }

  /** `AC:R[<role>]:ID[<id>]`, the original's string form (used as a cache key). */
  toString(): string {
    return (this.text ??= `AC:R[${this.role}]:ID[${this.id}]`);
  }

  equals(other: AccessCandidate): boolean {
    return this.role === other.role && this.id === other.id;
  }
}

const PUBLIC = new (AccessCandidate as unknown as new (role: Role, id: string) => AccessCandidate)('public', PUBLIC_ID);
