import { SreInvalidInputError } from '../core/errors';
import { AccessCandidate, Level } from './access-candidate';
import { ACL, IACL, levelMask } from './acl';

const H = {
  user1: '63edb0950fc8c927',
  team1: 'f623df4e20112b07',
  agent1: 'fcf1a5605d79016e',
  public: '61214ecf31784e87',
  default: 'cb14bd8a5c561c96',
};
const user1 = AccessCandidate.user('user1');
const team1 = AccessCandidate.team('team1');
const agent1 = AccessCandidate.agent('agent1');

describe('ACL compact serialization', () => {
  it("parses the spec's example and grants exactly what it says", () => {
    const acl = ACL.parse(`h:xxh3|u:${H.user1}/o|t:${H.team1}/r`);
    expect(acl.hashAlgorithm).toBe('xxh3');
    expect(acl.checkExactAccess(user1, 'owner')).toBe(true);
    expect(acl.checkExactAccess(user1, 'read')).toBe(false);
    expect(acl.checkExactAccess(team1, 'read')).toBe(true);
    expect(acl.checkExactAccess(team1, 'write')).toBe(false);
    expect(acl.serialize()).toBe(`h:xxh3|u:${H.user1}/o|t:${H.team1}/r`);
  });

  it('writes the grammar of spec §2.3: prefix, role order u,a,t,p, sorted ids, levels n,o,r,w', () => {
    const acl = new ACL()
      .addPublicAccess('read')
      .addAccess('team', 'team1', ['write', 'read'])
      .addAccess('team', 'default', 'read')
      .addAccess('agent', 'agent1', ['write', 'owner', 'read', 'none'])
      .addAccess('user', 'user1', 'owner');
    expect(acl.serialize()).toBe(
      `h:xxh3|u:${H.user1}/o|a:${H.agent1}/norw|t:${H.default}/r,${H.team1}/rw|p:${H.public}/r`,
    );
    expect(acl.toString()).toBe(acl.serialize());
  });

  it('round-trips through the compact form and the IACL object', () => {
    const acl = new ACL()
      .addAccess('user', 'user1', ['owner', 'read', 'write'])
      .addAccess('user', 'u2', 'read')
      .addAccess('agent', 'agent1', 'write')
      .addAccess('team', 'team1', ['read', 'write'])
      .addPublicAccess(['read']);
    const text = acl.serialize();
    const back = ACL.parse(text);
    expect(back.serialize()).toBe(text);
    expect(back.toJSON()).toEqual(acl.toJSON());
    expect(ACL.fromObject(JSON.parse(JSON.stringify(acl))).serialize()).toBe(text);
    expect(back.checkExactAccess(user1, ['owner', 'read', 'write'])).toBe(true);
    expect(back.checkExactAccess(AccessCandidate.public(), 'read')).toBe(true);
  });

  it('omits roles without entries', () => {
    expect(new ACL().serialize()).toBe('h:xxh3');
    expect(new ACL().addAccess('team', 'team1', 'read').serialize()).toBe(`h:xxh3|t:${H.team1}/r`);
    const emptied = new ACL()
      .addAccess('user', 'user1', 'read')
      .addAccess('team', 'team1', 'read')
      .removeAccess('user', 'user1');
    expect(emptied.serialize()).toBe(`h:xxh3|t:${H.team1}/r`);
    expect(emptied.toJSON().entries).toEqual({ team: { [H.team1]: ['read'] } });
    expect(ACL.parse('h:xxh3').isEmpty()).toBe(true);
    expect(ACL.parse('').isEmpty()).toBe(true);
  });

  it('ignores unknown role and level characters on parse', () => {
    const acl = ACL.parse(`h:xxh3|x:${H.user1}/r|u:${H.user1}/rzw|q:abc/o`);
    expect(acl.serialize()).toBe(`h:xxh3|u:${H.user1}/rw`);
  });

  it('ignores malformed segments and entries instead of inventing grants', () => {
    expect(ACL.parse(`h:xxh3|ab|u:/r|u:${H.user1}|t:${H.team1}/`).isEmpty()).toBe(true);
  });

  it('defaults to xxh3 without an h: prefix and honours h:none', () => {
    expect(ACL.parse(`u:${H.user1}/o`).checkExactAccess(user1, 'owner')).toBe(true);
    const plain = ACL.parse('h:none|u:alice/r|t:acme/rw');
    expect(plain.hashAlgorithm).toBe('none');
    expect(plain.checkExactAccess(AccessCandidate.user('alice'), 'read')).toBe(true);
    expect(plain.checkExactAccess(AccessCandidate.team('acme'), ['read', 'write'])).toBe(true);
  });

  it('rejects an unknown hash algorithm', () => {
    expect(() => ACL.parse('h:md5|u:x/r')).toThrow(SreInvalidInputError);
    expect(() => ACL.fromObject({ hashAlgorithm: 'sha1' as 'none' })).toThrow(SreInvalidInputError);
  });

  it('does not serialize `migrated` (but keeps it in the object form)', () => {
    const acl = ACL.fromObject({ migrated: true, entries: { user: { [H.user1]: ['owner'] } } });
    expect(acl.migrated).toBe(true);
    expect(acl.serialize()).toBe(`h:xxh3|u:${H.user1}/o`);
    expect(acl.toJSON()).toEqual({
      hashAlgorithm: 'xxh3',
      entries: { user: { [H.user1]: ['owner'] } },
      migrated: true,
    });
    expect(ACL.parse(acl.serialize()).migrated).toBe(false);
    expect(new ACL().toJSON()).not.toHaveProperty('migrated');
  });
});

describe('ACL objects', () => {
  it('takes IACL entry keys as already hashed (never re-hashed)', () => {
    const input: IACL = {
      hashAlgorithm: 'xxh3',
      entries: { user: { [H.user1]: ['owner'] }, team: { [H.team1]: ['read'] } },
    };
    const acl = ACL.fromObject(input);
    expect(acl.checkExactAccess(user1, 'owner')).toBe(true);
    expect(acl.checkExactAccess(team1, 'read')).toBe(true);
    expect(acl.toJSON().entries).toEqual(input.entries);
  });

  it('defaults a missing hashAlgorithm to xxh3 and skips unknown roles and empty keys', () => {
    const acl = ACL.fromObject({
      entries: { user: { [H.user1]: ['read'], '': ['owner'] }, robot: { x: ['read'] } } as IACL['entries'],
    });
    expect(acl.hashAlgorithm).toBe('xxh3');
    expect(acl.toJSON().entries).toEqual({ user: { [H.user1]: ['read'] } });
  });

  it('ACL.from accepts nothing, a string, an object or an ACL (copied)', () => {
    expect(ACL.from(undefined).isEmpty()).toBe(true);
    expect(ACL.from(null).isEmpty()).toBe(true);
    expect(ACL.from(`u:${H.user1}/r`).checkExactAccess(user1, 'read')).toBe(true);
    expect(ACL.from({ entries: { agent: { [H.agent1]: ['write'] } } }).checkExactAccess(agent1, 'write')).toBe(true);
    const original = new ACL().addAccess('user', 'user1', 'read');
    const copy = ACL.from(original);
    copy.addAccess('user', 'user1', 'write');
    expect(original.checkExactAccess(user1, 'write')).toBe(false);
    expect(copy.checkExactAccess(user1, ['read', 'write'])).toBe(true);
  });

  it('stores a single string level as that level, not its characters (W03)', () => {
    const acl = new ACL().addAccess('user', 'user1', 'read').addPublicAccess('write');
    expect(acl.toJSON().entries).toEqual({ user: { [H.user1]: ['read'] }, public: { [H.public]: ['write'] } });
  });

  it('stores public access under the hash of the canonical public id (W03)', () => {
    const acl = new ACL().addPublicAccess('read');
    expect(acl.checkExactAccess(AccessCandidate.public(), 'read')).toBe(true);
    expect(acl.serialize()).toBe(`h:xxh3|p:${H.public}/r`);
  });

  it('grant() files a candidate under its role, the public principal included', () => {
    const acl = new ACL().grant(user1, ['read', 'write']).grant(AccessCandidate.public(), 'read');
    expect(acl.serialize()).toBe(
      new ACL().addAccess('user', 'user1', ['read', 'write']).addPublicAccess('read').serialize(),
    );
    expect(acl.levelsOf(user1)).toEqual(['read', 'write']);
    expect(acl.levelsOf(team1)).toEqual([]);
  });

  it('refuses public through addAccess, empty ids and unknown levels', () => {
    expect(() => new ACL().addAccess('public', 'public', 'read')).toThrow(/addPublicAccess/);
    expect(() => new ACL().addAccess('user', '', 'read')).toThrow(SreInvalidInputError);
    expect(() => new ACL().addAccess('user', 'u', 'admin' as Level)).toThrow(SreInvalidInputError);
    expect(() => levelMask(['read', 'r' as Level])).toThrow(/unknown access level/);
  });

  it('collapses duplicate levels (W04)', () => {
    const acl = new ACL();
    for (let i = 0; i < 5; i++) acl.addAccess('user', 'user1', ['owner', 'owner']).grant(user1, 'owner');
    acl.addPublicAccess(['read', 'read']).addPublicAccess('read');
    expect(acl.toJSON().entries).toEqual({ user: { [H.user1]: ['owner'] }, public: { [H.public]: ['read'] } });
    expect(acl.serialize()).toBe(`h:xxh3|u:${H.user1}/o|p:${H.public}/r`);
    expect(
      ACL.fromObject({ entries: { user: { [H.user1]: ['read', 'read', 'write', 'read'] } } }).toJSON().entries,
    ).toEqual({
      user: { [H.user1]: ['read', 'write'] },
    });
  });

  it('removeAccess revokes the given levels, or all of them (W05)', () => {
    const acl = new ACL().addAccess('user', 'user1', ['owner', 'read', 'write']).addAccess('team', 'team1', 'read');
    acl.removeAccess('user', 'user1', 'write');
    expect(acl.levelsOf(user1)).toEqual(['owner', 'read']);
    acl.removeAccess('user', 'user1', ['owner', 'read']);
    expect(acl.levelsOf(user1)).toEqual([]);
    expect(acl.toJSON().entries).toEqual({ team: { [H.team1]: ['read'] } });
    acl.removeAccess('team', 'team1');
    expect(acl.isEmpty()).toBe(true);
  });

  it('removePublicAccess revokes public levels (W05)', () => {
    const acl = new ACL().addPublicAccess(['read', 'write']);
    acl.removePublicAccess('write');
    expect(acl.checkExactAccess(AccessCandidate.public(), 'read')).toBe(true);
    expect(acl.checkExactAccess(AccessCandidate.public(), 'write')).toBe(false);
    acl.removePublicAccess();
    expect(acl.isEmpty()).toBe(true);
    expect(acl.serialize()).toBe('h:xxh3');
  });

  it('checks exact levels only: owner does not imply read at this layer', () => {
    const acl = new ACL().addAccess('user', 'user1', 'owner').addAccess('agent', 'agent1', ['read', 'write']);
    expect(acl.checkExactAccess(user1, 'owner')).toBe(true);
    expect(acl.checkExactAccess(user1, 'read')).toBe(false);
    expect(acl.checkExactAccess(user1, ['owner', 'read'])).toBe(false);
    expect(acl.checkExactAccess(agent1, ['read', 'write'])).toBe(true);
    expect(acl.checkExactAccess(agent1, ['read', 'owner'])).toBe(false);
    // same id, other role: no access
    expect(acl.checkExactAccess(AccessCandidate.agent('user1'), 'owner')).toBe(false);
  });

  it('merges (union) and re-hashes a plain-id ACL into a hashed one', () => {
    const acl = new ACL().addAccess('user', 'user1', 'read');
    acl.merge(new ACL().addAccess('user', 'user1', 'write').addAccess('team', 'team1', 'read'));
    acl.merge(`h:xxh3|a:${H.agent1}/o`);
    acl.merge(ACL.parse('h:none|t:default/w'));
    acl.merge(undefined).merge(null);
    expect(acl.toJSON().entries).toEqual({
      user: { [H.user1]: ['read', 'write'] },
      agent: { [H.agent1]: ['owner'] },
      team: { [H.default]: ['write'], [H.team1]: ['read'] },
    });
  });

  it('refuses to merge hashed ids into a plain-id ACL', () => {
    expect(() => new ACL('none').merge(new ACL().addAccess('user', 'user1', 'read'))).toThrow(SreInvalidInputError);
  });

  it('owners() keeps only the owner level of owner entries', () => {
    const acl = new ACL()
      .addAccess('user', 'user1', ['owner', 'read'])
      .addAccess('team', 'team1', 'read')
      .addAccess('agent', 'agent1', 'owner');
    const owners = acl.owners();
    expect(owners.toJSON().entries).toEqual({ user: { [H.user1]: ['owner'] }, agent: { [H.agent1]: ['owner'] } });
    expect(owners.hasOwner()).toBe(true);
    expect(new ACL().addAccess('team', 'team1', 'read').hasOwner()).toBe(false);
    expect(new ACL().addAccess('team', 'team1', 'read').owners().isEmpty()).toBe(true);
  });

  it('bumps version on real mutations only', () => {
    const acl = new ACL();
    expect(acl.version).toBe(0);
    acl.addAccess('user', 'user1', 'read');
    expect(acl.version).toBe(1);
    acl.addAccess('user', 'user1', 'read');
    acl.merge(new ACL().addAccess('user', 'user1', 'read'));
    acl.serialize();
    acl.toJSON();
    acl.checkExactAccess(user1, 'read');
    acl.owners();
    acl.clone();
    expect(acl.version).toBe(1);
    acl.addAccess('user', 'user1', ['read', 'write']);
    expect(acl.version).toBe(2);
    acl.removeAccess('user', 'user1', 'owner');
    acl.removeAccess('team', 'nobody');
    acl.removePublicAccess();
    expect(acl.version).toBe(2);
    acl.removeAccess('user', 'user1', 'write');
    expect(acl.version).toBe(3);
  });

  it("keeps plain ids with hashAlgorithm 'none'", () => {
    const acl = new ACL('none').addAccess('user', 'alice', 'owner').addPublicAccess('read');
    expect(acl.serialize()).toBe('h:none|u:alice/o|p:public/r');
    expect(acl.toJSON()).toEqual({
      hashAlgorithm: 'none',
      entries: { user: { alice: ['owner'] }, public: { public: ['read'] } },
    });
    expect(acl.checkExactAccess(AccessCandidate.user('alice'), 'owner')).toBe(true);
    expect(acl.checkExactAccess(AccessCandidate.public(), 'read')).toBe(true);
    acl.removeAccess('user', 'alice');
    expect(acl.checkExactAccess(AccessCandidate.user('alice'), 'owner')).toBe(false);
  });

  it('rejects an unknown algorithm in the constructor', () => {
    expect(() => new ACL('sha256' as 'none')).toThrow(SreInvalidInputError);
  });
});

describe('ACL allowsDirectly', () => {
  it('answers from the ACL as it is now, after every grant and revoke, for the same candidate and others', () => {
    const acl = new ACL();
    const write = levelMask('write');
    expect(acl.allowsDirectly(agent1, write)).toBe(false);
    acl.addAccess('agent', 'agent1', 'write');
    expect(acl.allowsDirectly(agent1, write)).toBe(true);
    expect(acl.allowsDirectly(user1, write)).toBe(false);
    expect(acl.allowsDirectly(agent1, write)).toBe(true);
    acl.removeAccess('agent', 'agent1', 'write');
    expect(acl.allowsDirectly(agent1, write)).toBe(false);
    acl.grant(agent1, 'owner');
    expect(acl.allowsDirectly(agent1, levelMask('read'))).toBe(true);
    // a copy is its own ACL: revoking there leaves this one as it is
    const copy = acl.clone().removeAccess('agent', 'agent1');
    expect([copy.allowsDirectly(agent1, write), acl.allowsDirectly(agent1, write)]).toEqual([false, true]);
    // another candidate object for the same agent reads the same entry
    expect(acl.allowsDirectly(AccessCandidate.agent('agent1'), write)).toBe(true);
  });
});
