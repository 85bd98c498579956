import { SreInvalidInputError, type SreErrorSource } from '../core/errors';
import type { AccessCandidate } from './access-candidate';

/**
 * Reserved key prefixes that name their owner: `teams/<team>[.user|.agent…]/…`, `users/<id>/…`,
 * `agents/<id>/…`. A resource under one of them can only be created by that owner, which closes the
 * original's squatting hole (W07) where anyone could pre-claim `teams/<otherTeam>/…`.
 */
export interface ResourceScope {
  role: 'team' | 'user' | 'agent';
  id: string;
}

const PREFIX_ROLE: Record<string, ResourceScope['role']> = { teams: 'team', users: 'user', agents: 'agent' };
/** The longest of those roots: an id whose first segment is longer is outside every scope. */
const LONGEST_ROOT = Math.max(...Object.keys(PREFIX_ROLE).map((root) => root.length));

export function scopeOf(resourceId: string): ResourceScope | undefined {
  const first = resourceId.indexOf('/');
  if (first <= 0) return undefined;
  const role = PREFIX_ROLE[resourceId.slice(0, first)];
  if (!role) return undefined;
  const second = resourceId.indexOf('/', first + 1);
  let id = resourceId.slice(first + 1, second === -1 ? undefined : second);
  // SmythFS writes user/agent files as teams/<team>.user/<id>/…: the team is before the dot
  if (role === 'team') id = id.split('.')[0];
  return id ? { role, id } : undefined;
}

/** May this candidate (acting for `team`) create a resource under this id? */
export function mayClaim(candidate: AccessCandidate, resourceId: string, team: string | undefined): boolean {
  const scope = scopeOf(resourceId);
  if (!scope) return true;
  if (scope.role === 'team') return (candidate.role === 'team' && candidate.id === scope.id) || team === scope.id;
  return candidate.role === scope.role && candidate.id === scope.id;
}

/**
 * True when `resourceId` names a reserved scope's folder itself rather than something inside it:
 * a scope root (`teams`, `users`, `agents`), one owner's folder (`teams/<T>`, `teams/<T>.<kind>`,
 * `users/<id>`, `agents/<id>`), or a member's folder in the SmythFS form (`teams/<T>.<kind>/<id>`).
 * Roots match in any letter case (on a case-insensitive file system `Teams` is `teams`). As a
 * resource such an id would sit where the folder goes and block every id of its scope (an id cannot
 * be both a file and a folder), so services refuse to create one (`assertNotScopeFolder`).
 */
export function isScopeFolder(resourceId: string): boolean {
  // the hot path of every cache and storage write: most ids start with no reserved root, so no split
  const slash = resourceId.indexOf('/');
  if ((slash === -1 ? resourceId.length : slash) > LONGEST_ROOT) return false;
  const segments = resourceId.split('/');
  const root = segments[0].toLowerCase();
  if (!Object.hasOwn(PREFIX_ROLE, root)) return false;
  if (segments.length <= 2) return true;
  return segments.length === 3 && root === 'teams' && segments[1].includes('.');
}

/**
 * Throws `SreInvalidInputError` for an id `isScopeFolder` reserves: what every service that lets
 * callers name resources under the reserved scopes checks before it creates one.
 */
export function assertNotScopeFolder(resourceId: string, what = 'resource id', source?: SreErrorSource): void {
  if (isScopeFolder(resourceId))
    throw new SreInvalidInputError(
      `invalid ${what}: it names a reserved folder (teams/<team>/, users/<id>/, agents/<id>/ or their root), ` +
        'which cannot be a resource itself: add a name below it',
      source,
    );
}
