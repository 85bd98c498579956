import type { AccessCandidate } from './access-candidate';

/** Resolves the team a candidate acts for; the Account subsystem implements it. */
export interface TeamResolver {
  getCandidateTeam(candidate: AccessCandidate): Promise<string | undefined>;
}

/** Used when no Account subsystem is present: a team is its own team, nobody else has one. */
export const OWN_TEAM_ONLY: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : undefined),
};
