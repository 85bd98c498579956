import { AccessCandidate } from './access-candidate';
import { SreInvalidInputError } from '../core/errors';
import { assertNotScopeFolder, isScopeFolder, mayClaim, scopeOf } from './scope';

describe('scopeOf', () => {
  it.each([
    ['teams/t1/f.txt', { role: 'team', id: 't1' }],
    ['teams/t1', { role: 'team', id: 't1' }],
    ['teams/default.agent/a1/f.txt', { role: 'team', id: 'default' }],
    ['teams/acme.user/u1/doc.pdf', { role: 'team', id: 'acme' }],
    ['users/u1/notes.md', { role: 'user', id: 'u1' }],
    ['agents/a1/state.json', { role: 'agent', id: 'a1' }],
  ])('reads the owner of %s', (id, scope) => {
    expect(scopeOf(id)).toEqual(scope);
  });

  it.each(['f.txt', 'public/f.txt', 'team/t1/f.txt', 'teamsx/t1/f', 'x/teams/t1/f', '/teams/t1/f', 'teams'])(
    'finds no reserved scope in %s',
    (id) => {
      expect(scopeOf(id)).toBeUndefined();
    },
  );
});

describe('mayClaim', () => {
  const teamT1 = AccessCandidate.team('t1');
  const agentA1 = AccessCandidate.agent('a1');
  const userU1 = AccessCandidate.user('u1');

  it('lets anyone claim an unscoped id', () => {
    expect(mayClaim(agentA1, 'shared/f.txt', undefined)).toBe(true);
    expect(mayClaim(AccessCandidate.public(), 'f.txt', undefined)).toBe(true);
  });

  it('lets a team, or a member acting for it, claim under teams/<team>/', () => {
    expect(mayClaim(teamT1, 'teams/t1/f.txt', undefined)).toBe(true);
    expect(mayClaim(agentA1, 'teams/t1/f.txt', 't1')).toBe(true);
    expect(mayClaim(userU1, 'teams/t1/f.txt', 't1')).toBe(true);
  });

  it("refuses another team's prefix (W07)", () => {
    expect(mayClaim(AccessCandidate.team('t2'), 'teams/t1/f.txt', 't2')).toBe(false);
    expect(mayClaim(agentA1, 'teams/t1/f.txt', 't2')).toBe(false);
    expect(mayClaim(agentA1, 'teams/t1/f.txt', undefined)).toBe(false);
    // a team named like the prefix's owner but in another role is not that team
    expect(mayClaim(AccessCandidate.user('t1'), 'teams/t1/f.txt', undefined)).toBe(false);
  });

  it('handles the SmythFS form teams/<team>.<role>/<id>/…', () => {
    expect(mayClaim(agentA1, 'teams/default.agent/a1/f.txt', 'default')).toBe(true);
    expect(mayClaim(agentA1, 'teams/default.agent/a1/f.txt', 'acme')).toBe(false);
    expect(mayClaim(AccessCandidate.team('default'), 'teams/default.user/u1/f.txt', undefined)).toBe(true);
  });

  it('reserves users/<id>/ and agents/<id>/ to that very user or agent', () => {
    expect(mayClaim(userU1, 'users/u1/f', 't1')).toBe(true);
    expect(mayClaim(AccessCandidate.user('u2'), 'users/u1/f', 't1')).toBe(false);
    expect(mayClaim(AccessCandidate.agent('u1'), 'users/u1/f', 't1')).toBe(false);
    expect(mayClaim(agentA1, 'agents/a1/f', 't1')).toBe(true);
    expect(mayClaim(AccessCandidate.agent('a2'), 'agents/a1/f', 't1')).toBe(false);
    expect(mayClaim(AccessCandidate.team('a1'), 'agents/a1/f', 'a1')).toBe(false);
  });
});

describe('isScopeFolder', () => {
  it.each([
    'teams',
    'users',
    'agents',
    'Teams',
    'AGENTS',
    'teams/t1',
    'teams/t1.user',
    'teams/t1.user/u1',
    'teams/default.agent/a1',
    'users/u1',
    'agents/a1',
    'teams/',
  ])('reserves %j: as a resource it would block its whole scope', (id) => {
    expect(isScopeFolder(id)).toBe(true);
    expect(() => assertNotScopeFolder(id, 'cache key', { subsystem: 'Cache' })).toThrow(SreInvalidInputError);
    expect(() => assertNotScopeFolder(id)).toThrow(/^invalid resource id: it names a reserved folder/);
  });

  it.each([
    'teams/t1/f.txt',
    'teams/t1.user/u1/f.txt',
    'teams/t1/sub',
    'users/u1/notes.md',
    'agents/a1/state.json',
    'teamsx',
    'team',
    'f.txt',
    'x/teams',
    'public/users',
    'constructor',
    '__proto__',
  ])('lets %j be a resource', (id) => {
    expect(isScopeFolder(id)).toBe(false);
    expect(() => assertNotScopeFolder(id)).not.toThrow();
  });
});
