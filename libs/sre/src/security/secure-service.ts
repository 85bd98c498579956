import type { ConnectorContext, SreBackend } from '../core/backend';
import { SreAccessDeniedError, SreBackendError } from '../core/errors';
import { isPromise, SreService } from '../core/service';
import { CANDIDATE_ID_PATTERN, type AccessCandidate, type Level } from './access-candidate';
import { ACL, levelMask } from './acl';
import { mayClaim, scopeOf } from './scope';
import type { TeamResolver } from './team-resolver';

export const READ = levelMask('read');
export const WRITE = levelMask('write');
export const OWNER = levelMask('owner');

/** What a service that decides access needs from the application. */
export interface SecureServiceDeps {
  /** The Account subsystem: which team a user or agent acts for. */
  account: TeamResolver;
}

/**
 * How many times a conditional write is decided and tried again when the resource keeps changing.
 * Writers in lockstep each win one round, so this also bounds how many may race on one resource.
 */
export const MAX_WRITE_ATTEMPTS = 20;
/** Longest pause between two attempts: a random share of it spreads writers in lockstep apart. */
const MAX_RETRY_PAUSE_MS = 8;

/** A team id the resolver gave, or `undefined` (team ids end up in keys and paths: the candidate grammar). */
function validTeam(team: unknown): string | undefined {
  return typeof team === 'string' && CANDIDATE_ID_PATTERN.test(team) ? team : undefined;
}

/**
 * A service whose resources carry ACLs. The decision follows the original (own levels, owner,
 * public, then the candidate's team and team owner) without its holes: the public principal
 * matches (W03), a missing resource id is never a free pass (W06), and a resource under a reserved
 * scope cannot be claimed by someone outside it (W07). It lives here, in the service, and takes
 * the ACL the backend stored as plain data: no connector can change the decision.
 */
export abstract class SecureService<B extends SreBackend = SreBackend> extends SreService<B> {
  protected readonly teams: TeamResolver;

  constructor(backend: B, context: ConnectorContext | undefined, deps: SecureServiceDeps) {
    super(backend, context);
    this.teams = deps.account;
  }

  /**
   * Throws `SreAccessDeniedError` unless the candidate holds `need` (a level mask) on a resource
   * whose stored ACL is `acl` (`undefined`: it does not exist, and may be created by the candidate
   * unless it lies under someone else's `teams/<T>/`, `users/<id>/` or `agents/<id>/`).
   */
  protected async authorize(
    candidate: AccessCandidate,
    need: number,
    resourceId: string,
    acl: ACL | undefined,
  ): Promise<void> {
    if (acl === undefined) {
      if (scopeOf(resourceId) && !mayClaim(candidate, resourceId, await this.teamOf(candidate))) throw this.denied();
      return;
    }
    if (acl.allowsDirectly(candidate, need)) return;
    if (acl.hasTeamEntries()) {
      const team = await this.teamOf(candidate);
      if (team && acl.allowsTeam(team, need)) return;
    }
    throw this.denied();
  }

  /** `authorize` as a boolean. */
  protected async allows(
    candidate: AccessCandidate,
    levels: Level | readonly Level[],
    resourceId: string,
    acl: ACL | undefined,
  ): Promise<boolean> {
    try {
      await this.authorize(candidate, levelMask(levels), resourceId, acl);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The team the candidate acts for, or `undefined` (no team, a resolver failure, or an answer that
   * is not a valid team id — team ids end up in keys and paths, so they obey the candidate grammar).
   */
  protected teamOf(candidate: AccessCandidate): Promise<string | undefined> {
    return this.resolveTeam(candidate, validTeam);
  }

  /** The candidate's team, or `SreAccessDeniedError` for a candidate that has none (team-scoped subsystems). */
  protected requireTeam(candidate: AccessCandidate): Promise<string> {
    return this.resolveTeam(candidate, this.requiredTeam);
  }

  private readonly requiredTeam = (team: unknown): string => {
    const valid = validTeam(team);
    if (valid === undefined) throw this.denied();
    return valid;
  };

  /**
   * `check` of the resolver's answer (`undefined` when it fails), in one step after the lookup:
   * every team-scoped call (each NKV `get` and `set`) waits for the resolver's answer and no more.
   */
  private resolveTeam<T>(candidate: AccessCandidate, check: (team: unknown) => T): Promise<T> {
    try {
      if (candidate.role === 'team') return Promise.resolve(check(candidate.id));
      // the anonymous principal never acts for a team, whatever an Account connector answers for it
      if (candidate.role === 'public') return Promise.resolve(check(undefined));
    } catch (error) {
      return Promise.reject(error as Error);
    }
    let answer: unknown;
    try {
      answer = this.teams.getCandidateTeam(candidate);
    } catch {
      answer = undefined;
    }
    if (!isPromise(answer)) return new Promise((resolve) => resolve(check(answer)));
    // a native promise is taken as it is (no tick of its own), another thenable adopted
    return Promise.resolve(answer).then(check, () => check(undefined));
  }

  /**
   * Optimistic concurrency, once for every subsystem: `attempt` reads the resource, decides access
   * and tries a conditional write against the version it read; `false` means the resource changed in
   * between, so everything is read and decided again. A resource that keeps changing is an error.
   */
  protected async retryOnConflict(
    what: string,
    attempt: () => Promise<boolean> | boolean,
    /** Attempts already made (and refused) before this call. */
    made = 0,
  ): Promise<void> {
    for (let tries = made + 1; ; tries++) {
      if (await attempt()) return;
      if (tries === MAX_WRITE_ATTEMPTS)
        throw new SreBackendError(`${this.label()}: ${what} kept changing during the write; try again`, this.source());
      // the first retry is immediate (one other writer won); later ones back off with jitter
      if (tries > 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * MAX_RETRY_PAUSE_MS));
    }
  }

  protected denied(detail?: string): SreAccessDeniedError {
    return new SreAccessDeniedError(this.source(), detail);
  }
}
