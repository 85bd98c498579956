import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../core/connector';
import { SreAccessDeniedError, SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import type { TeamResolver } from '../security/team-resolver';
import { LocalStorageConnector } from './connectors/local-storage.connector';
import { StorageService } from './storage.service';

/** Users and agents and the team each acts for, as an Account connector would resolve them. */
const MEMBERSHIP: Record<string, string> = {
  'user:alice': 'acme',
  'user:bob': 'acme',
  'agent:helper': 'acme',
  'user:eve': 'rivals',
};

const account: TeamResolver = {
  getCandidateTeam: async (candidate) =>
    candidate.role === 'team' ? candidate.id : MEMBERSHIP[`${candidate.role}:${candidate.id}`],
};

describe('StorageService requester (over LocalStorage)', () => {
  let dir: string;
  let storage: StorageService;
  const alice = AccessCandidate.user('alice');
  const bob = AccessCandidate.user('bob');
  const eve = AccessCandidate.user('eve');

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-storage-svc-'));
    storage = new LocalStorageConnector(
      { sweepIntervalSeconds: 0 },
      createConnectorContext({ subsystem: 'Storage', connector: 'LocalStorage', dataDir: dir, deps: { account } }),
    );
    await storage.connect();
  });

  afterEach(async () => {
    await storage.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('data', () => {
    it('reads back what was written; a missing id reads as undefined without throwing', async () => {
      const me = storage.requester(alice);
      expect(await me.read('nothing/here.txt')).toBeUndefined();
      expect(await me.readStream('nothing/here.txt')).toBeUndefined();
      expect(await me.stat('nothing/here.txt')).toBeUndefined();
      expect(await me.getMetadata('nothing/here.txt')).toBeUndefined();
      expect(await me.getACL('nothing/here.txt')).toBeUndefined();
      expect(await me.exists('nothing/here.txt')).toBe(false);

      await me.write('docs/a.txt', 'hello');
      expect(await me.exists('docs/a.txt')).toBe(true);
      expect((await me.read('docs/a.txt'))?.toString()).toBe('hello');
      expect((await me.stat('docs/a.txt'))?.size).toBe(5);
    });

    it('delete removes the resource; deleting a missing one is a no-op', async () => {
      const me = storage.requester(alice);
      await me.write('x.bin', Buffer.from([1, 2, 3]));
      await me.delete('x.bin');
      expect(await me.exists('x.bin')).toBe(false);
      expect(await me.read('x.bin')).toBeUndefined();
      await expect(me.delete('x.bin')).resolves.toBeUndefined();
    });

    it('user/team/agent shortcuts act as that candidate', async () => {
      await storage.agent('helper').write('agent-file', 'a');
      expect(
        (await storage.agent('helper').getACL('agent-file'))?.checkExactAccess(
          AccessCandidate.agent('helper'),
          'owner',
        ),
      ).toBe(true);
      await expect(storage.user('eve').read('agent-file')).rejects.toThrow(SreAccessDeniedError);
      await storage.team('acme').write('team-file', 't');
      expect((await storage.user('alice').read('team-file'))?.toString()).toBe('t');
    });
  });

  describe('metadata', () => {
    it('keeps custom keys of every JSON type, merges on setMetadata and keeps ContentType', async () => {
      const me = storage.requester(alice);
      const nested = { list: [1, 'two', { three: true }], n: null };
      await me.write('m.json', '{}', undefined, {
        ContentType: 'application/json',
        a: 'one',
        nested,
        count: 42,
        flag: false,
        numeric: '42',
        quoted: '"q"',
      });
      await me.setMetadata('m.json', { b: 'two', a: 'uno' });
      expect(await me.getMetadata('m.json')).toEqual({
        ContentType: 'application/json',
        a: 'uno',
        b: 'two',
        nested,
        count: 42,
        flag: false,
        numeric: '42',
        quoted: '"q"',
      });
      expect((await me.stat('m.json'))?.contentType).toBe('application/json');
    });

    it('ignores the reserved acl and expiresAt keys in metadata', async () => {
      const me = storage.requester(alice);
      await me.write('r.txt', 'r', undefined, { acl: 'h:xxh3|u:deadbeef/o', expiresAt: 1, keep: 'yes' });
      await me.setMetadata('r.txt', { acl: 'h:xxh3', expiresAt: 1 });
      expect(await me.getMetadata('r.txt')).toEqual({ keep: 'yes' });
      expect((await me.getACL('r.txt'))?.checkExactAccess(alice, 'owner')).toBe(true);
      expect(await me.read('r.txt')).toBeDefined();
    });

    it('setMetadata and setACL on a missing resource fail and create nothing (W55)', async () => {
      const me = storage.requester(alice);
      await expect(me.setMetadata('ghost', { a: 1 })).rejects.toThrow(SreNotFoundError);
      await expect(me.setACL('ghost', new ACL().addAccess('user', 'bob', 'read'))).rejects.toThrow(SreNotFoundError);
      await expect(me.expire('ghost', 10)).rejects.toThrow(SreNotFoundError);
      expect(fs.existsSync(path.join(dir, 'storage', '.local.metadata', 'ghost'))).toBe(false);
      await me.write('ghost', 'now it exists');
      expect((await me.read('ghost'))?.toString()).toBe('now it exists');
    });

    it('rejects metadata that is not a plain object or not JSON-serialisable', async () => {
      const me = storage.requester(alice);
      await expect(me.write('bad', 'x', undefined, [] as never)).rejects.toThrow(SreInvalidInputError);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(me.write('bad', 'x', undefined, { circular })).rejects.toThrow(SreInvalidInputError);
      expect(await me.exists('bad')).toBe(false);
    });
  });

  describe('access control', () => {
    it('the writer is owner; setACL without the requester keeps the requester owner', async () => {
      const me = storage.requester(alice);
      await me.write('owned', 'x');
      expect((await me.getACL('owned'))?.checkExactAccess(alice, 'owner')).toBe(true);
      await me.setACL('owned', new ACL().addAccess('user', 'bob', 'read'));
      const acl = await me.getACL('owned');
      expect(acl?.checkExactAccess(alice, 'owner')).toBe(true);
      expect(acl?.checkExactAccess(bob, 'read')).toBe(true);
    });

    it('an ACL given in hashed IACL form reads back with identical team entries', async () => {
      const agent = storage.agent('helper');
      const iacl = new ACL().addAccess('team', 'acme', ['read', 'write']).toJSON();
      await agent.write('shared', 'x');
      await agent.setACL('shared', iacl);
      expect((await agent.getACL('shared'))?.toJSON().entries?.team).toEqual(iacl.entries?.team);
    });

    it('keeps the owner after setACL, setMetadata and a rewrite by a co-writer (W19)', async () => {
      await storage.requester(alice).write('doc', 'v1');
      await storage.requester(alice).setACL('doc', new ACL().addAccess('user', 'bob', ['read', 'write']));
      const asBob = storage.requester(bob);
      await asBob.setMetadata('doc', { by: 'bob' });
      await asBob.write('doc', 'v2', new ACL().addAccess('user', 'bob', 'read'));
      const acl = await asBob.getACL('doc');
      expect(acl?.checkExactAccess(alice, 'owner')).toBe(true);
      expect(acl?.checkExactAccess(bob, 'owner')).toBe(true);
      expect((await storage.requester(alice).read('doc'))?.toString()).toBe('v2');
    });

    it('denies another team read, write, delete, getMetadata, setMetadata, setACL and expire', async () => {
      await storage.requester(alice).write('private', 'secret', undefined, { ContentType: 'text/plain' });
      const asEve = storage.requester(eve);
      const denied = (promise: Promise<unknown>) =>
        expect(promise).rejects.toMatchObject({ name: 'ACLAccessDeniedError', message: 'Access Denied' });
      await denied(asEve.read('private'));
      await denied(asEve.readStream('private'));
      await denied(asEve.write('private', 'overwritten'));
      await denied(asEve.delete('private'));
      await denied(asEve.getMetadata('private'));
      await denied(asEve.setMetadata('private', { x: 1 }));
      await denied(asEve.setACL('private', new ACL()));
      await denied(asEve.exists('private'));
      await denied(asEve.expire('private', 1));
      await expect(asEve.read('private')).rejects.toBeInstanceOf(SreAccessDeniedError);
      expect((await storage.requester(alice).read('private'))?.toString()).toBe('secret');
    });

    it('grants a team read to every member of that team (Account team), and to nobody else', async () => {
      await storage
        .requester(alice)
        .write('teams/acme/report.txt', 'numbers', new ACL().addAccess('team', 'acme', 'read'));
      expect((await storage.requester(bob).read('teams/acme/report.txt'))?.toString()).toBe('numbers');
      expect((await storage.agent('helper').read('teams/acme/report.txt'))?.toString()).toBe('numbers');
      await expect(storage.requester(eve).read('teams/acme/report.txt')).rejects.toThrow(SreAccessDeniedError);
    });

    it('a team member with read only cannot delete, write or set the ACL (W08)', async () => {
      await storage.requester(alice).write('teams/acme/ro.txt', 'keep', new ACL().addAccess('team', 'acme', 'read'));
      const asBob = storage.requester(bob);
      await expect(asBob.delete('teams/acme/ro.txt')).rejects.toThrow(SreAccessDeniedError);
      await expect(asBob.write('teams/acme/ro.txt', 'changed')).rejects.toThrow(SreAccessDeniedError);
      await expect(asBob.setACL('teams/acme/ro.txt', new ACL().addAccess('user', 'bob', 'owner'))).rejects.toThrow(
        SreAccessDeniedError,
      );
      expect((await asBob.read('teams/acme/ro.txt'))?.toString()).toBe('keep');
    });

    it('setACL needs owner: a write grant is not enough', async () => {
      await storage.requester(alice).write('w', 'x', new ACL().addAccess('user', 'bob', 'write'));
      await expect(storage.requester(bob).setACL('w', new ACL().addAccess('user', 'bob', 'owner'))).rejects.toThrow(
        SreAccessDeniedError,
      );
      await expect(storage.requester(bob).write('w', 'y')).resolves.toBeUndefined();
    });

    it('nobody outside a team can claim an id under teams/<team>/ (W07)', async () => {
      await expect(storage.requester(eve).write('teams/acme/squat.txt', 'mine')).rejects.toThrow(SreAccessDeniedError);
      await expect(storage.requester(eve).write('users/alice/squat.txt', 'mine')).rejects.toThrow(SreAccessDeniedError);
      await storage.requester(alice).write('users/alice/notes.txt', 'mine');
      await storage.team('rivals').write('teams/rivals/plan.txt', 'ours');
      // outsiders cannot even probe another team's scope; insiders see nothing was created
      await expect(storage.requester(eve).exists('teams/acme/squat.txt')).rejects.toThrow(SreAccessDeniedError);
      expect(await storage.requester(alice).exists('teams/acme/squat.txt')).toBe(false);
    });

    it('public grants are honoured', async () => {
      await storage.requester(alice).write('open.txt', 'hi', new ACL().addPublicAccess('read'));
      expect((await storage.requester(AccessCandidate.public()).read('open.txt'))?.toString()).toBe('hi');
      expect((await storage.requester(eve).read('open.txt'))?.toString()).toBe('hi');
      await expect(storage.requester(eve).write('open.txt', 'no')).rejects.toThrow(SreAccessDeniedError);
    });

    it('a file with data but no metadata is accessible to nobody', async () => {
      fs.writeFileSync(path.join(dir, 'storage', 'local', 'orphan-data'), 'x');
      await expect(storage.requester(alice).read('orphan-data')).rejects.toThrow(SreAccessDeniedError);
      await expect(storage.requester(alice).write('orphan-data', 'y')).rejects.toThrow(SreAccessDeniedError);
    });
  });

  describe('ids', () => {
    it.each(['../x', '/etc/passwd', 'a/../../b', 'a\0b', '', 'a//b', './a', 'a\\..\\b'])(
      'rejects %j and writes nothing outside the folder',
      async (id) => {
        const me = storage.requester(alice);
        const before = fs.readdirSync(path.dirname(dir));
        await expect(me.write(id, 'pwned')).rejects.toThrow(SreInvalidInputError);
        await expect(me.read(id)).rejects.toThrow(SreInvalidInputError);
        await expect(me.delete(id)).rejects.toThrow(SreInvalidInputError);
        await expect(me.getMetadata(id)).rejects.toThrow(SreInvalidInputError);
        expect(fs.readdirSync(path.dirname(dir))).toEqual(before);
        expect(fs.readdirSync(path.join(dir, 'storage', 'local'))).toEqual([]);
      },
    );
  });

  describe('expiry', () => {
    afterEach(() => jest.restoreAllMocks());

    it('rejects a ttl that is not a positive number', async () => {
      const me = storage.requester(alice);
      await me.write('t', 'x');
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
        await expect(me.expire('t', ttl)).rejects.toThrow(SreInvalidInputError);
    });

    it('an expired resource reads as missing everywhere and is deleted, ACL included', async () => {
      const me = storage.requester(alice);
      await me.write('soon', 'bye', undefined, { ContentType: 'text/plain' });
      await me.expire('soon', 1);
      const stat = await me.stat('soon');
      expect(stat?.expiresAt).toBeGreaterThan(Date.now());
      expect(stat?.metadata).toEqual({ ContentType: 'text/plain' });
      const later = Date.now() + 1_001;
      jest.spyOn(Date, 'now').mockReturnValue(later);
      expect(await me.read('soon')).toBeUndefined();
      expect(await me.readStream('soon')).toBeUndefined();
      expect(await me.exists('soon')).toBe(false);
      expect(await me.stat('soon')).toBeUndefined();
      expect(await me.getMetadata('soon')).toBeUndefined();
      expect(await me.getACL('soon')).toBeUndefined();
      expect(fs.existsSync(path.join(dir, 'storage', 'local', 'soon'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'storage', '.local.metadata', 'soon'))).toBe(false);
      // the old owner's claim went with it: someone else may now create the id
      await storage.requester(eve).write('soon', 'mine now');
      expect((await storage.requester(eve).read('soon'))?.toString()).toBe('mine now');
    });

    it('a rewrite clears the expiry', async () => {
      const me = storage.requester(alice);
      await me.write('renewed', 'v1');
      await me.expire('renewed', 1);
      await me.write('renewed', 'v2');
      expect((await me.stat('renewed'))?.expiresAt).toBeUndefined();
      jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 5_000);
      expect((await me.read('renewed'))?.toString()).toBe('v2');
    });

    it('setMetadata and setACL keep the expiry', async () => {
      const me = storage.requester(alice);
      await me.write('kept', 'v');
      await me.expire('kept', 100);
      const expiresAt = (await me.stat('kept'))?.expiresAt;
      await me.setMetadata('kept', { a: 1 });
      await me.setACL('kept', new ACL().addAccess('user', 'bob', 'read'));
      expect((await me.stat('kept'))?.expiresAt).toBe(expiresAt);
    });

    it('expires after a real 1 s TTL', async () => {
      const me = storage.requester(alice);
      await me.write('real', 'x');
      await me.expire('real', 1);
      expect(await me.exists('real')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await me.read('real')).toBeUndefined();
    });
  });
});
