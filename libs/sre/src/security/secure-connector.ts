import { SreConnector } from '../core/connector';
import { SreAccessDeniedError } from '../core/errors';
import { CANDIDATE_ID_PATTERN, type AccessCandidate, type Level } from './access-candidate';
import { ACL, levelMask } from './acl';
import { mayClaim, scopeOf } from './scope';
import { OWN_TEAM_ONLY, TeamResolver } from './team-resolver';

export const READ = levelMask('read');
export const WRITE = levelMask('write');
export const OWNER = levelMask('owner');

/**
 * A connector whose resources carry ACLs. The decision follows the original (own levels, owner,
 * public, then the candidate's team and team owner) without its holes: the public principal
 * matches (W03), a missing resource id is never a free pass (W06), and a resource under a reserved
 * scope cannot be claimed by someone outside it (W07).
 */
export abstract class SecureConnector extends SreConnector {
  /**
   * The resource's ACL. For a resource that does not exist yet return `undefined`: the decision
   * then makes the requester its owner (create-on-first-use) where the scope allows it.
   */
  protected abstract getResourceACL(
    resourceId: string,
    candidate: AccessCandidate,
  ): Promise<ACL | undefined> | ACL | undefined;

  /** The team resolver: the Account subsystem when present. */
  protected get teamResolver(): TeamResolver {
    return (this.context.deps.account as TeamResolver | undefined) ?? OWN_TEAM_ONLY;
  }

  /** True when `candidate` holds every level in `levels` on `resourceId`. Errors deny. */
  async hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], resourceId: string): Promise<boolean> {
    try {
      await this.authorize(candidate, levelMask(levels), resourceId);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Throws `SreAccessDeniedError` unless the candidate holds `need` (a level mask). Returns the ACL
   * (or `undefined` for a resource that does not exist yet) so callers need not fetch it again.
   */
  protected async authorize(candidate: AccessCandidate, need: number, resourceId: string): Promise<ACL | undefined> {
    const pending = this.ensureReady();
    if (pending) await pending;
    let acl: ACL | undefined;
    try {
      acl = await this.getResourceACL(resourceId, candidate);
    } catch (error) {
      this.logger.warn(
        `ACL lookup failed, access denied: ${this.redact(error instanceof Error ? error.message : String(error))}`,
      );
      throw this.denied();
    }
    if (acl === undefined) {
      if (scopeOf(resourceId) && !mayClaim(candidate, resourceId, await this.teamOf(candidate))) throw this.denied();
      return undefined;
    }
    if (acl.allowsDirectly(candidate, need)) return acl;
    if (acl.hasTeamEntries()) {
      const team = await this.teamOf(candidate);
      if (team && acl.allowsTeam(team, need)) return acl;
    }
    throw this.denied();
  }

  /**
   * The team the candidate acts for, or `undefined` (no team, a resolver failure, or an answer that
   * is not a valid team id — team ids end up in keys and paths, so they obey the candidate grammar).
   */
  protected async teamOf(candidate: AccessCandidate): Promise<string | undefined> {
    if (candidate.role === 'team') return candidate.id;
    // the anonymous principal never acts for a team, whatever an Account connector answers for it
    if (candidate.role === 'public') return undefined;
    try {
      const team = await this.teamResolver.getCandidateTeam(candidate);
      return typeof team === 'string' && CANDIDATE_ID_PATTERN.test(team) ? team : undefined;
    } catch {
      return undefined;
    }
  }

  /** The candidate's team, or `SreAccessDeniedError` for a candidate that has none (team-scoped subsystems). */
  protected async requireTeam(candidate: AccessCandidate): Promise<string> {
    const team = await this.teamOf(candidate);
    if (team === undefined) throw this.denied();
    return team;
  }

  protected denied(): SreAccessDeniedError {
    return new SreAccessDeniedError(this.source());
  }
}
