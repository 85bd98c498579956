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
