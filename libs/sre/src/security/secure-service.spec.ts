import { createConnectorContext, SreBackend, Version } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate, Level } from './access-candidate';
import { ACL } from './acl';
import { MAX_WRITE_ATTEMPTS, OWNER, READ, SecureService, WRITE } from './secure-service';
import { OWN_TEAM_ONLY, type TeamResolver } from './team-resolver';

/** ACLs by resource id, each stored with a version that changes on every write. */
class MapAclBackend implements SreBackend {
  readonly acls = new Map<string, { acl: ACL; version: number }>();
  reads = 0;
  writes = 0;
  /** Runs right after a read: lets a test change the resource between a read and the write that follows. */
  afterRead?: (id: string) => void;

  read(id: string): { acl: ACL; version: Version } | undefined {
    this.reads++;
    const found = this.acls.get(id);
    const copy = found && { acl: found.acl.clone(), version: found.version as Version };
    this.afterRead?.(id);
    return copy;
  }

  /** Writes only while the resource is at `version` (`undefined`: does not exist yet). */
  writeIf(id: string, acl: ACL, version: Version | undefined): boolean {
    this.writes++;
    const current = this.acls.get(id);
    if (current?.version !== version) return false;
    this.acls.set(id, { acl: acl.clone(), version: (current?.version ?? 0) + 1 });
    return true;
  }

  async ping(): Promise<void> {}

  put(id: string, acl: ACL): void {
    const current = this.acls.get(id);
    this.acls.set(id, { acl, version: (current?.version ?? 0) + 1 });
  }
}

class MapSecureService extends SecureService<MapAclBackend> {
  check(candidate: AccessCandidate, need: number, resourceId: string, acl: ACL | undefined): Promise<void> {
    return this.authorize(candidate, need, resourceId, acl);
  }

  hasAccess(candidate: AccessCandidate, levels: Level | readonly Level[], id: string, acl: ACL | undefined) {
    return this.allows(candidate, levels, id, acl);
  }

  team(candidate: AccessCandidate): Promise<string | undefined> {
    return this.teamOf(candidate);
  }

  ownTeam(candidate: AccessCandidate): Promise<string> {
    return this.requireTeam(candidate);
  }

  retry(what: string, attempt: () => Promise<boolean> | boolean): Promise<void> {
    return this.retryOnConflict(what, attempt);
  }

  /** A read-decide-write as subsystem services do it: an owner grants `levels` to `to`. */
  grant(candidate: AccessCandidate, id: string, to: AccessCandidate, levels: Level[]): Promise<void> {
    return this.retryOnConflict('the ACL', async () => {
      const found = await this.call('reading the ACL', () => this.backend.read(id));
      await this.authorize(candidate, OWNER, id, found?.acl);
      const acl = (found?.acl ?? new ACL().grant(candidate, 'owner')).grant(to, levels);
      return this.call('writing the ACL', () => this.backend.writeIf(id, acl, found?.version));
    });
  }
}

/** Team membership by candidate id, like an Account service would resolve it. */
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

function make(account: TeamResolver, backend = new MapAclBackend()): MapSecureService {
  return new MapSecureService(backend, createConnectorContext({ subsystem: 'Test', connector: 'Map' }), { account });
}

const alice = AccessCandidate.user('alice');
const bob = AccessCandidate.user('bob');
const agentA1 = AccessCandidate.agent('a1');

describe('SecureService access decision', () => {
  let service: MapSecureService;
  let account: ReturnType<typeof accountOf>;

  beforeEach(() => {
    account = accountOf({ alice: 't1', bob: 't2', a1: 't1' });
    service = make(account);
  });

  it('lets an owner do everything at decision time', async () => {
    const acl = new ACL().addAccess('user', 'alice', 'owner');
    await expect(service.check(alice, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(alice, WRITE, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(alice, READ | WRITE | OWNER, 'doc', acl)).resolves.toBeUndefined();
  });

  it('grants exactly the levels a candidate holds', async () => {
    const acl = new ACL().addAccess('user', 'alice', 'read');
    await expect(service.check(alice, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(alice, WRITE, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(alice, READ | WRITE, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(alice, OWNER, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
  });

  it("grants through the candidate's team resolved by deps.account", async () => {
    const acl = new ACL().addAccess('user', 'carol', 'owner').addAccess('team', 't1', 'read');
    await expect(service.check(alice, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(agentA1, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(AccessCandidate.team('t1'), READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(alice, WRITE, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(bob, READ, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    expect(account.calls).toBeGreaterThan(0);
  });

  it('lets every member do everything when the team owns the resource', async () => {
    const acl = new ACL().addAccess('team', 't1', 'owner');
    await expect(service.check(alice, READ | WRITE, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(agentA1, OWNER, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(bob, READ, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
  });

  it('does not resolve the team when the ACL has no team entry', async () => {
    const acl = new ACL().addAccess('user', 'alice', 'read');
    await expect(service.check(bob, READ, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    expect(account.calls).toBe(0);
  });

  it('with OWN_TEAM_ONLY only a team itself acts for its team', async () => {
    const alone = make(OWN_TEAM_ONLY);
    const acl = new ACL().addAccess('team', 't1', 'read');
    await expect(alone.check(AccessCandidate.team('t1'), READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(alone.check(alice, READ, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    await expect(alone.check(alice, WRITE, 'teams/t1/new.txt', undefined)).rejects.toThrow(SreAccessDeniedError);
  });

  it('treats a failing team lookup as no team', async () => {
    const broken = make({ getCandidateTeam: () => Promise.reject(new Error('db down')) });
    const acl = new ACL().addAccess('team', 't1', 'read');
    await expect(broken.check(alice, READ, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    await expect(broken.check(alice, WRITE, 'teams/t1/new.txt', undefined)).rejects.toThrow(SreAccessDeniedError);
  });

  it('ignores a resolved team id that breaks the id grammar (it would reach keys and paths)', async () => {
    const odd = make(accountOf({ alice: '../t1' }));
    await expect(odd.check(alice, READ, 'doc', new ACL().addAccess('team', '../t1', 'read'))).rejects.toThrow(
      SreAccessDeniedError,
    );
    await expect(odd.check(alice, WRITE, 'teams/t1/new.txt', undefined)).rejects.toThrow(SreAccessDeniedError);
  });

  it('honours public grants for everyone, including the public principal (W03)', async () => {
    const acl = new ACL().addAccess('user', 'carol', 'owner').addPublicAccess('read');
    await expect(service.check(alice, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(agentA1, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(AccessCandidate.public(), READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(service.check(alice, WRITE, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
  });

  it('never lets the public principal act for a team, even when the Account connector names one', async () => {
    const generous = make({ getCandidateTeam: async () => 't1' });
    const acl = new ACL().addAccess('team', 't1', 'owner');
    await expect(generous.check(alice, READ, 'doc', acl)).resolves.toBeUndefined();
    await expect(generous.check(AccessCandidate.public(), READ, 'doc', acl)).rejects.toThrow(SreAccessDeniedError);
    await expect(generous.check(AccessCandidate.public(), WRITE, 'teams/t1/new.txt', undefined)).rejects.toThrow(
      SreAccessDeniedError,
    );
  });

  it('denies with the original error name when nothing grants', async () => {
    const error = await service
      .check(alice, READ, 'doc', new ACL().addAccess('user', 'carol', 'owner'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreAccessDeniedError);
    expect(error).toMatchObject({
      name: 'ACLAccessDeniedError',
      message: 'Access Denied',
      subsystem: 'Test',
      connector: 'Map',
    });
  });

  it('denies on an empty ACL: an existing resource nobody was granted is no free pass (W06)', async () => {
    await expect(service.check(alice, READ, 'doc', new ACL())).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(AccessCandidate.team('t1'), READ, 'teams/t1/doc', new ACL())).rejects.toThrow(
      SreAccessDeniedError,
    );
  });

  it('allows creating a missing resource (create-on-first-use) when the ACL is undefined', async () => {
    await expect(service.check(alice, WRITE, 'shared/new.txt', undefined)).resolves.toBeUndefined();
    await expect(service.check(alice, WRITE, 'teams/t1/new.txt', undefined)).resolves.toBeUndefined();
    await expect(service.check(agentA1, WRITE, 'teams/t1.agent/a1/new.txt', undefined)).resolves.toBeUndefined();
    await expect(service.check(AccessCandidate.team('t1'), WRITE, 'teams/t1/x', undefined)).resolves.toBeUndefined();
    await expect(service.check(alice, WRITE, 'users/alice/new.txt', undefined)).resolves.toBeUndefined();
    await expect(service.check(agentA1, WRITE, 'agents/a1/new.txt', undefined)).resolves.toBeUndefined();
  });

  it("refuses to create under someone else's reserved scope (W07)", async () => {
    await expect(service.check(bob, WRITE, 'teams/t1/new.txt', undefined)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(bob, READ, 'teams/t1.agent/a1/x', undefined)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(AccessCandidate.team('t2'), WRITE, 'teams/t1/x', undefined)).rejects.toThrow(
      SreAccessDeniedError,
    );
    await expect(service.check(bob, WRITE, 'users/alice/new.txt', undefined)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(alice, WRITE, 'agents/a1/new.txt', undefined)).rejects.toThrow(SreAccessDeniedError);
    await expect(service.check(AccessCandidate.agent('a2'), WRITE, 'agents/a1/new.txt', undefined)).rejects.toThrow(
      SreAccessDeniedError,
    );
  });

  it('lets a granted candidate use an existing resource under another scope', async () => {
    const acl = new ACL().addAccess('team', 't1', 'owner').addAccess('user', 'bob', 'read');
    await expect(service.check(bob, READ, 'teams/t1/shared.txt', acl)).resolves.toBeUndefined();
    await expect(service.check(bob, WRITE, 'teams/t1/shared.txt', acl)).rejects.toThrow(SreAccessDeniedError);
  });

  it('allows() answers with booleans', async () => {
    const acl = new ACL().addAccess('user', 'alice', ['read', 'write']);
    await expect(service.hasAccess(alice, 'read', 'doc', acl)).resolves.toBe(true);
    await expect(service.hasAccess(alice, ['read', 'write'], 'doc', acl)).resolves.toBe(true);
    await expect(service.hasAccess(alice, 'owner', 'doc', acl)).resolves.toBe(false);
    await expect(service.hasAccess(bob, 'read', 'doc', acl)).resolves.toBe(false);
    await expect(service.hasAccess(bob, 'write', 'users/alice/new', undefined)).resolves.toBe(false);
    await expect(service.hasAccess(bob, 'write', 'users/bob/new', undefined)).resolves.toBe(true);
  });
});

describe('SecureService teams', () => {
  it('teamOf: a team is its own team, others are resolved by deps.account, the public has none', async () => {
    const account = accountOf({ alice: 't1' });
    const service = make(account);
    await expect(service.team(AccessCandidate.team('t9'))).resolves.toBe('t9');
    expect(account.calls).toBe(0);
    await expect(service.team(alice)).resolves.toBe('t1');
    await expect(service.team(bob)).resolves.toBeUndefined();
    await expect(make({ getCandidateTeam: async () => 't1' }).team(AccessCandidate.public())).resolves.toBeUndefined();
  });

  it('teamOf: a failing resolver or an answer that is no team id means no team', async () => {
    await expect(make({ getCandidateTeam: () => Promise.reject(new Error('down')) }).team(alice)).resolves.toBe(
      undefined,
    );
    for (const answer of ['', '../t1', 't1/x', 42, null, { id: 't1' }]) {
      const service = make({ getCandidateTeam: async () => answer as never });
      await expect(service.team(alice)).resolves.toBeUndefined();
    }
  });

  it('requireTeam returns the team, or denies a candidate that has none', async () => {
    const service = make(accountOf({ alice: 't1' }));
    await expect(service.ownTeam(alice)).resolves.toBe('t1');
    await expect(service.ownTeam(AccessCandidate.team('t2'))).resolves.toBe('t2');
    const error = await service.ownTeam(bob).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreAccessDeniedError);
    expect(error).toMatchObject({ name: 'ACLAccessDeniedError', subsystem: 'Test', connector: 'Map' });
    await expect(service.ownTeam(AccessCandidate.public())).rejects.toThrow(SreAccessDeniedError);
  });
});

describe('SecureService.retryOnConflict', () => {
  it('stops at the first attempt that writes', async () => {
    const service = make(OWN_TEAM_ONLY);
    const attempt = jest.fn().mockResolvedValueOnce(false).mockResolvedValueOnce(false).mockReturnValueOnce(true);
    await expect(service.retry('the ACL', attempt)).resolves.toBeUndefined();
    expect(attempt).toHaveBeenCalledTimes(3);
  });

  it(`gives up after ${MAX_WRITE_ATTEMPTS} attempts with an SreBackendError naming the service`, async () => {
    const service = make(OWN_TEAM_ONLY);
    const attempt = jest.fn(() => false);
    const error = await service.retry('the ACL of doc', attempt).catch((e: unknown) => e);
    expect(attempt).toHaveBeenCalledTimes(MAX_WRITE_ATTEMPTS);
    expect(error).toBeInstanceOf(SreBackendError);
    expect(error).toMatchObject({
      message: 'Test(Map): the ACL of doc kept changing during the write; try again',
      subsystem: 'Test',
      connector: 'Map',
    });
  });

  it('does not retry an attempt that throws (a denial, a bad id)', async () => {
    const service = make(OWN_TEAM_ONLY);
    const invalid = new SreInvalidInputError('bad id');
    const attempt = jest.fn().mockResolvedValueOnce(false).mockRejectedValueOnce(invalid);
    await expect(service.retry('x', attempt)).rejects.toBe(invalid);
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('re-reads and writes again when another writer got in between; no update is lost', async () => {
    const backend = new MapAclBackend();
    const service = make(OWN_TEAM_ONLY, backend);
    backend.put('doc', new ACL().addAccess('user', 'alice', 'owner'));
    let raced = false;
    backend.afterRead = (id) => {
      if (raced) return;
      raced = true;
      backend.put(id, backend.acls.get(id)!.acl.clone().addAccess('user', 'carol', 'read'));
    };
    await service.grant(alice, 'doc', bob, ['read']);
    expect(backend.writes).toBe(2);
    const stored = backend.acls.get('doc')!.acl;
    expect(stored.levelsOf(bob)).toEqual(['read']);
    expect(stored.levelsOf(AccessCandidate.user('carol'))).toEqual(['read']);
    expect(stored.levelsOf(alice)).toEqual(['owner']);
  });

  it('decides access again on each attempt: a writer who lost ownership meanwhile is denied', async () => {
    const backend = new MapAclBackend();
    const service = make(OWN_TEAM_ONLY, backend);
    backend.put('doc', new ACL().addAccess('user', 'alice', 'owner').addAccess('user', 'bob', 'owner'));
    backend.afterRead = (id) => {
      backend.afterRead = undefined;
      backend.put(id, new ACL().addAccess('user', 'alice', 'owner'));
    };
    await expect(service.grant(bob, 'doc', agentA1, ['write'])).rejects.toThrow(SreAccessDeniedError);
    expect(backend.writes).toBe(1);
    expect(backend.acls.get('doc')!.acl.levelsOf(agentA1)).toEqual([]);
  });

  it('creates a missing resource once even when two writers race to create it', async () => {
    const backend = new MapAclBackend();
    const service = make(OWN_TEAM_ONLY, backend);
    await Promise.all([
      service.grant(alice, 'users/alice/doc', bob, ['read']),
      service.grant(alice, 'users/alice/doc', agentA1, ['write']),
    ]);
    const stored = backend.acls.get('users/alice/doc')!;
    expect(stored.acl.levelsOf(bob)).toEqual(['read']);
    expect(stored.acl.levelsOf(agentA1)).toEqual(['write']);
    expect(stored.version).toBe(2);
    // both read "missing" before either wrote: the loser's first write was refused, then redone
    expect(backend.writes).toBe(3);
  });
});
