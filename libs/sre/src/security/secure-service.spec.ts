import { createConnectorContext } from '../core/connector';
import { SreAccessDeniedError, SreUnavailableError } from '../core/errors';
import { AccessCandidate } from './access-candidate';
import { ACL } from './acl';
import { OWNER, READ, SecureConnector, WRITE } from './secure-connector';
import type { TeamResolver } from './team-resolver';

/** ACLs come from a map; an Error in the map makes the lookup fail. */
class MapSecureConnector extends SecureConnector {
  readonly acls = new Map<string, ACL | Error>();
  lookups = 0;

  constructor(deps: Record<string, unknown> = {}, secrets: string[] = []) {
    super(createConnectorContext({ subsystem: 'Test', connector: 'Map', deps, secrets }));
  }

  protected getResourceACL(resourceId: string): ACL | undefined {
    this.lookups++;
    const found = this.acls.get(resourceId);
    if (found instanceof Error) throw found;
    return found;
  }

  check(candidate: AccessCandidate, need: number, resourceId: string): Promise<ACL | undefined> {
    return this.authorize(candidate, need, resourceId);
  }

  get log() {
    return this.logger;
  }
}

/** Team membership by candidate id, like an Account connector would resolve it. */
function accountOf(teams: Record<string, string>): TeamResolver & { calls: number } {
  const account = {
    calls: 0,
    async getCandidateTeam(candidate: AccessCandidate) {
      account.calls++;
      return candidate.role === 'team' ? candidate.id : teams[candidate.id];
    },
  };
  return account;
}

const alice = AccessCandidate.user('alice');
const bob = AccessCandidate.user('bob');
const agentA1 = AccessCandidate.agent('a1');

describe('SecureConnector access decision', () => {
  let connector: MapSecureConnector;
  let account: ReturnType<typeof accountOf>;

  beforeEach(async () => {
    account = accountOf({ alice: 't1', bob: 't2', a1: 't1' });
    connector = new MapSecureConnector({ account });
    await connector.connect();
  });

  it('lets an owner do everything at decision time', async () => {
    const acl = new ACL().addAccess('user', 'alice', 'owner');
    connector.acls.set('doc', acl);
    await expect(connector.check(alice, READ, 'doc')).resolves.toBe(acl);
    await expect(connector.check(alice, WRITE, 'doc')).resolves.toBe(acl);
    await expect(connector.check(alice, READ | WRITE | OWNER, 'doc')).resolves.toBe(acl);
  });

  it('grants exactly the levels a candidate holds', async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'alice', 'read'));
    await expect(connector.check(alice, READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(alice, WRITE, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(alice, READ | WRITE, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(alice, OWNER, 'doc')).rejects.toThrow(SreAccessDeniedError);
  });

  it("grants through the candidate's team resolved by context.deps.account", async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'carol', 'owner').addAccess('team', 't1', 'read'));
    await expect(connector.check(alice, READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(agentA1, READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(AccessCandidate.team('t1'), READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(alice, WRITE, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(bob, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
    expect(account.calls).toBeGreaterThan(0);
  });

  it('lets every member do everything when the team owns the resource', async () => {
    connector.acls.set('doc', new ACL().addAccess('team', 't1', 'owner'));
    await expect(connector.check(alice, READ | WRITE, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(agentA1, OWNER, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(bob, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
  });

  it('does not resolve the team when the ACL has no team entry', async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'alice', 'read'));
    await expect(connector.check(bob, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
    expect(account.calls).toBe(0);
  });

  it('without an Account subsystem only a team itself acts for its team', async () => {
    const alone = new MapSecureConnector();
    alone.acls.set('doc', new ACL().addAccess('team', 't1', 'read'));
    await expect(alone.check(AccessCandidate.team('t1'), READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(alone.check(alice, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
  });

  it('treats a failing team lookup as no team', async () => {
    const broken = new MapSecureConnector({
      account: { getCandidateTeam: () => Promise.reject(new Error('db down')) },
    });
    broken.acls.set('doc', new ACL().addAccess('team', 't1', 'read'));
    await expect(broken.check(alice, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(broken.check(alice, WRITE, 'teams/t1/new.txt')).rejects.toThrow(SreAccessDeniedError);
  });

  it('ignores a resolved team id that breaks the id grammar (it would reach keys and paths)', async () => {
    const odd = new MapSecureConnector({ account: accountOf({ alice: '../t1' }) });
    await odd.connect();
    odd.acls.set('doc', new ACL().addAccess('team', '../t1', 'read'));
    await expect(odd.check(alice, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(odd.check(alice, WRITE, 'teams/t1/new.txt')).rejects.toThrow(SreAccessDeniedError);
  });

  it('honours public grants for everyone, including the public principal (W03)', async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'carol', 'owner').addPublicAccess('read'));
    await expect(connector.check(alice, READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(agentA1, READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(AccessCandidate.public(), READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(alice, WRITE, 'doc')).rejects.toThrow(SreAccessDeniedError);
  });

  it('never lets the public principal act for a team, even when the Account connector names one', async () => {
    const generous = new MapSecureConnector({ account: { getCandidateTeam: async () => 't1' } });
    generous.acls.set('doc', new ACL().addAccess('team', 't1', 'owner'));
    await expect(generous.check(alice, READ, 'doc')).resolves.toBeInstanceOf(ACL);
    await expect(generous.check(AccessCandidate.public(), READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(generous.check(AccessCandidate.public(), WRITE, 'teams/t1/new.txt')).rejects.toThrow(
      SreAccessDeniedError,
    );
  });

  it('denies with the original error name when nothing grants', async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'carol', 'owner'));
    const error = await connector.check(alice, READ, 'doc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreAccessDeniedError);
    expect(error).toMatchObject({
      name: 'ACLAccessDeniedError',
      message: 'Access Denied',
      subsystem: 'Test',
      connector: 'Map',
    });
  });

  it('denies when the ACL lookup fails, and logs the reason with secrets scrubbed', async () => {
    const secretive = new MapSecureConnector({ account }, ['s3cr3t-password']);
    const warn = jest.spyOn(secretive.log, 'warn').mockImplementation(() => undefined);
    secretive.acls.set('doc', new Error('connect to redis://:s3cr3t-password@host failed'));
    await expect(secretive.check(alice, READ, 'doc')).rejects.toThrow(SreAccessDeniedError);
    await expect(secretive.hasAccess(alice, 'read', 'doc')).resolves.toBe(false);
    expect(warn).toHaveBeenCalled();
    for (const [message] of warn.mock.calls) expect(String(message)).not.toContain('s3cr3t-password');
  });

  it('allows creating a missing resource (create-on-first-use): authorize returns undefined', async () => {
    await expect(connector.check(alice, WRITE, 'shared/new.txt')).resolves.toBeUndefined();
    await expect(connector.check(alice, WRITE, 'teams/t1/new.txt')).resolves.toBeUndefined();
    await expect(connector.check(agentA1, WRITE, 'teams/t1.agent/a1/new.txt')).resolves.toBeUndefined();
    await expect(connector.check(AccessCandidate.team('t1'), WRITE, 'teams/t1/x')).resolves.toBeUndefined();
    await expect(connector.check(alice, WRITE, 'users/alice/new.txt')).resolves.toBeUndefined();
    await expect(connector.check(agentA1, WRITE, 'agents/a1/new.txt')).resolves.toBeUndefined();
  });

  it("refuses to create under someone else's reserved scope (W07)", async () => {
    await expect(connector.check(bob, WRITE, 'teams/t1/new.txt')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(bob, READ, 'teams/t1.agent/a1/x')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(AccessCandidate.team('t2'), WRITE, 'teams/t1/x')).rejects.toThrow(
      SreAccessDeniedError,
    );
    await expect(connector.check(bob, WRITE, 'users/alice/new.txt')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(alice, WRITE, 'agents/a1/new.txt')).rejects.toThrow(SreAccessDeniedError);
    await expect(connector.check(AccessCandidate.agent('a2'), WRITE, 'agents/a1/new.txt')).rejects.toThrow(
      SreAccessDeniedError,
    );
  });

  it('lets a granted candidate use an existing resource under another scope', async () => {
    connector.acls.set(
      'teams/t1/shared.txt',
      new ACL().addAccess('team', 't1', 'owner').addAccess('user', 'bob', 'read'),
    );
    await expect(connector.check(bob, READ, 'teams/t1/shared.txt')).resolves.toBeInstanceOf(ACL);
    await expect(connector.check(bob, WRITE, 'teams/t1/shared.txt')).rejects.toThrow(SreAccessDeniedError);
  });

  it('hasAccess answers with booleans', async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'alice', ['read', 'write']));
    await expect(connector.hasAccess(alice, 'read', 'doc')).resolves.toBe(true);
    await expect(connector.hasAccess(alice, ['read', 'write'], 'doc')).resolves.toBe(true);
    await expect(connector.hasAccess(alice, 'owner', 'doc')).resolves.toBe(false);
    await expect(connector.hasAccess(bob, 'read', 'doc')).resolves.toBe(false);
    await expect(connector.hasAccess(bob, 'write', 'users/alice/new')).resolves.toBe(false);
    await expect(connector.hasAccess(bob, 'write', 'users/bob/new')).resolves.toBe(true);
  });

  it('connects on first use when not connected yet (lazyConnect)', async () => {
    const lazy = new MapSecureConnector();
    expect(lazy.state).toBe('created');
    await expect(lazy.check(alice, WRITE, 'x')).resolves.toBeUndefined();
    expect(lazy.state).toBe('ready');
  });

  it('refuses work once draining or closed', async () => {
    connector.acls.set('doc', new ACL().addAccess('user', 'alice', 'owner'));
    connector.drain();
    await expect(connector.check(alice, READ, 'doc')).rejects.toThrow(SreUnavailableError);
    await expect(connector.hasAccess(alice, 'read', 'doc')).resolves.toBe(false);
    await connector.disconnect();
    await expect(connector.check(alice, READ, 'doc')).rejects.toThrow(SreUnavailableError);
    expect(connector.lookups).toBe(0);
  });
});
