import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { narrowedACL } from './acl-narrowing';

const alice = AccessCandidate.user('alice');
const bob = AccessCandidate.user('bob');
const carol = AccessCandidate.user('carol');

describe('narrowedACL', () => {
  it('needs no step when the next ACL takes nothing away', () => {
    const current = new ACL().addAccess('user', 'alice', 'owner').addAccess('user', 'bob', 'read');
    expect(narrowedACL(current, current.clone())).toBeUndefined();
    expect(narrowedACL(current, current.clone().addAccess('user', 'carol', 'read'))).toBeUndefined();
    // owner implies read and write: trading read for owner takes nothing away
    expect(
      narrowedACL(current, new ACL().addAccess('user', 'alice', 'owner').addAccess('user', 'bob', 'owner')),
    ).toBeUndefined();
    expect(narrowedACL(new ACL(), new ACL().addAccess('user', 'bob', 'read'))).toBeUndefined();
  });

  it('keeps only the rights both ACLs grant when one is taken away', () => {
    const current = new ACL().addAccess('user', 'alice', 'owner').addAccess('user', 'bob', ['read', 'write']);
    const next = new ACL()
      .addAccess('user', 'alice', 'owner')
      .addAccess('user', 'bob', 'read')
      .addAccess('user', 'carol', 'read');
    const narrowed = narrowedACL(current, next)!;
    expect(narrowed.checkExactAccess(alice, 'owner')).toBe(true);
    expect(narrowed.checkExactAccess(bob, 'read')).toBe(true);
    expect(narrowed.checkExactAccess(bob, 'write')).toBe(false);
    expect(narrowed.checkExactAccess(carol, 'read')).toBe(false);
  });

  it('turns an owner demoted to a reader into a reader, and drops a principal that loses everything', () => {
    const current = new ACL().addAccess('user', 'alice', 'owner').addAccess('team', 'acme', 'read');
    const next = new ACL().addAccess('user', 'alice', 'read');
    const narrowed = narrowedACL(current, next)!;
    expect(narrowed.levelsOf(alice)).toEqual(['read']);
    expect(narrowed.hasTeamEntries()).toBe(false);
  });

  it('grants nothing in between when the hash algorithms differ', () => {
    const current = new ACL().addAccess('user', 'alice', 'owner');
    const narrowed = narrowedACL(current, new ACL('none').addAccess('user', 'alice', 'owner'))!;
    expect(narrowed.isEmpty()).toBe(true);
    expect(narrowed.hashAlgorithm).toBe('xxh3');
  });
});
