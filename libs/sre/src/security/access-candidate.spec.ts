import { SreInvalidInputError } from '../core/errors';
import { AccessCandidate, DEFAULT_TEAM_ID, PUBLIC_ID, Role } from './access-candidate';
import { hashOwnerId } from './hash';

describe('AccessCandidate', () => {
  it.each(['a', 'team1', 'Team-42', 'ABC-def-09', '-'])('accepts the id %j', (id) => {
    expect(AccessCandidate.user(id).id).toBe(id);
  });

  it.each(['', 'a_b', 'a.b', 'me@example.com', 'a/b', '../x', 'a b', 'é', 'a\n'])('rejects the id %j', (id) => {
    for (const make of [AccessCandidate.agent, AccessCandidate.user, AccessCandidate.team]) {
      expect(() => make(id)).toThrow(SreInvalidInputError);
    }
  });

  it('rejects non-string ids and unknown roles', () => {
    expect(() => AccessCandidate.user(undefined as unknown as string)).toThrow(SreInvalidInputError);
    expect(() => AccessCandidate.user(42 as unknown as string)).toThrow(SreInvalidInputError);
    expect(() => AccessCandidate.of('admin' as Role, 'x')).toThrow(/unknown candidate role/);
  });

  it('does not echo the rejected id in the error', () => {
    expect(() => AccessCandidate.user('secret_token_value')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret_token_value') }),
    );
  });

  it('builds each role through its factory and through of()', () => {
    expect(AccessCandidate.agent('a1')).toMatchObject({ role: 'agent', id: 'a1' });
    expect(AccessCandidate.user('u1')).toMatchObject({ role: 'user', id: 'u1' });
    expect(AccessCandidate.team('t1')).toMatchObject({ role: 'team', id: 't1' });
    expect(AccessCandidate.of('team', 't1').equals(AccessCandidate.team('t1'))).toBe(true);
    expect(AccessCandidate.user('x').equals(AccessCandidate.agent('x'))).toBe(false);
    expect(AccessCandidate.user('x').equals(AccessCandidate.user('y'))).toBe(false);
  });

  it('has a single canonical public principal whose id hashes to the public ACL key (W03)', () => {
    const pub = AccessCandidate.public();
    expect(pub).toBe(AccessCandidate.public());
    expect(AccessCandidate.of('public', '')).toBe(pub);
    expect(AccessCandidate.of('public', 'anything')).toBe(pub);
    expect(pub.role).toBe('public');
    expect(pub.id).toBe(PUBLIC_ID);
    expect(pub.id).toBe('public');
    expect(pub.hashedId).toBe('61214ecf31784e87');
  });

  it("renders the original's string form", () => {
    expect(AccessCandidate.team('t1').toString()).toBe('AC:R[team]:ID[t1]');
    expect(`${AccessCandidate.agent('a-1')}`).toBe('AC:R[agent]:ID[a-1]');
    expect(String(AccessCandidate.public())).toBe('AC:R[public]:ID[public]');
  });

  it('exposes the hashed id of the candidate', () => {
    expect(AccessCandidate.team('team1').hashedId).toBe('f623df4e20112b07');
    expect(AccessCandidate.user('user1').hashedId).toBe(hashOwnerId('user1'));
    expect(AccessCandidate.team(DEFAULT_TEAM_ID).hashedId).toBe('cb14bd8a5c561c96');
  });
});
