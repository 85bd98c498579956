import { Readable } from 'node:stream';
import { createConnectorContext } from '../core/backend';
import { SreBackendError, SreError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { MAX_WRITE_ATTEMPTS } from '../security/secure-service';
import type { TeamResolver } from '../security/team-resolver';
import { MemoryStorageBackend } from '../testing/backends/memory-storage.backend';
import { StorageService } from './storage.service';

// The access policy is tested once for every backend by testing/storage.contract.ts; this spec
// covers how the service drives a backend: order of calls, versions, error wrapping, lifecycle.

const account: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : 'acme'),
};
const alice = AccessCandidate.user('alice');
const eve = AccessCandidate.user('eve');

function build(secrets: string[] = []): { storage: StorageService; backend: MemoryStorageBackend } {
  const backend = new MemoryStorageBackend();
  const context = createConnectorContext({ subsystem: 'Storage', connector: 'Memory', secrets });
  return { storage: new StorageService(backend, context, { account }), backend };
}

describe('StorageService', () => {
  afterEach(() => jest.restoreAllMocks());

  it('connects on first use and refuses work once closed', async () => {
    const { storage, backend } = build();
    const connect = jest.spyOn(backend, 'connect');
    expect(storage.state).toBe('created');
    await storage.requester(alice).write('a', 'x');
    expect(storage.state).toBe('ready');
    expect(connect).toHaveBeenCalledTimes(1);
    await storage.disconnect();
    await expect(storage.requester(alice).read('a')).rejects.toThrow(SreUnavailableError);
    await expect(storage.requester(alice).write('a', 'y')).rejects.toThrow(SreUnavailableError);
  });

  it('wraps a backend failure as an SreBackendError naming subsystem and connector, secrets scrubbed', async () => {
    const { storage, backend } = build(['s3cr3t-token']);
    const cause = new Error('disk said no to s3cr3t-token');
    jest.spyOn(backend, 'read').mockRejectedValue(cause);
    const error = (await storage
      .requester(alice)
      .read('a')
      .catch((e: unknown) => e)) as SreBackendError;
    expect(error).toBeInstanceOf(SreBackendError);
    expect(error.message).toBe("Storage(Memory): reading 'a': disk said no to ***");
    expect([error.subsystem, error.connector, error.cause]).toEqual(['Storage', 'Memory', cause]);
  });

  it('gives typed errors a backend raises the source, and keeps their class', async () => {
    const { storage, backend } = build();
    jest.spyOn(backend, 'stage').mockRejectedValue(new SreInvalidInputError('a data stream must yield bytes'));
    const error = (await storage
      .requester(alice)
      .write('a', 'x')
      .catch((e: unknown) => e)) as SreError;
    expect(error).toBeInstanceOf(SreInvalidInputError);
    expect([error.subsystem, error.connector]).toEqual(['Storage', 'Memory']);
  });

  it("rejects with a source stream's own error, but wraps what the backend throws while staging", async () => {
    const { storage, backend } = build();
    const own = new Error('client went away');
    const source = new Readable({ read: () => source.destroy(own) });
    await expect(storage.requester(alice).write('a', source)).rejects.toBe(own);
    jest.spyOn(backend, 'stage').mockRejectedValue(new Error('ENOSPC'));
    await expect(storage.requester(alice).write('a', Readable.from(['x']))).rejects.toThrow(
      "Storage(Memory): writing 'a': ENOSPC",
    );
  });

  it('decides a read on its entry before the bytes load, and a stream before one byte of it is read: a denied caller loads nothing', async () => {
    const { storage, backend } = build();
    await storage.requester(alice).write('private', 'secret');
    const stat = jest.spyOn(backend, 'stat');
    const read = backend.read.bind(backend);
    const loaded: Buffer[] = [];
    jest.spyOn(backend, 'read').mockImplementation(async (id, wanted) => {
      const found = await read(id, wanted);
      if (found) loaded.push(found.data);
      return found;
    });
    const opened: Readable[] = [];
    const readStream = backend.readStream.bind(backend);
    jest.spyOn(backend, 'readStream').mockImplementation(async (id) => {
      const found = await readStream(id);
      if (found) opened.push(found.stream);
      return found;
    });
    await expect(storage.requester(eve).read('private')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    // one backend call, no stat first; the bytes were not loaded for eve
    expect(stat).not.toHaveBeenCalled();
    expect(loaded.map((data) => data.length)).toEqual([0]);
    expect(await storage.requester(alice).read('private')).toEqual(Buffer.from('secret'));
    expect(stat).not.toHaveBeenCalled();
    await expect(storage.requester(eve).readStream('private')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    // one call for a stream (no stat first: a remote backend saves a round trip), destroyed unread
    expect(opened).toHaveLength(1);
    expect(opened[0].destroyed).toBe(true);
    expect(opened[0].readableDidRead).toBe(false);
  });

  it('creates a new id from bytes in memory with no stat, and decides a write to an id created meanwhile on what is there', async () => {
    const { storage, backend } = build();
    const stat = jest.spyOn(backend, 'stat');
    await storage.requester(alice).write('fresh', 'one');
    expect(stat).not.toHaveBeenCalled();
    // known now: a rewrite reads it first (its ACL decides, and owners are kept)
    await storage.requester(alice).write('fresh', 'two');
    expect(stat).toHaveBeenCalledTimes(1);
    // created by another instance over the same backend: the create is refused, then decided on its ACL
    const other = new StorageService(backend, createConnectorContext({ subsystem: 'Storage', connector: 'Memory' }), {
      account,
    });
    await other.requester(alice).write('taken', 'alice owns it');
    await expect(storage.requester(eve).write('taken', 'eve was here')).rejects.toMatchObject({
      name: 'ACLAccessDeniedError',
    });
    expect(await storage.requester(alice).read('taken')).toEqual(Buffer.from('alice owns it'));
  });

  it('decides a read again on the version it returns, and closes a stream it may not hand out', async () => {
    const { storage, backend } = build();
    await storage.requester(alice).write('doc', 'v1', new ACL().addAccess('user', 'eve', 'read'));
    const revoked = { acl: new ACL().addAccess('user', 'alice', 'owner') };
    const read = backend.read.bind(backend);
    jest.spyOn(backend, 'read').mockImplementation(async (id) => {
      const found = (await read(id))!;
      return { ...found, entry: { ...found.entry, ...revoked } };
    });
    const stream = Readable.from(['v2']);
    jest.spyOn(backend, 'readStream').mockImplementation(async () => ({
      entry: { ...(await backend.stat('doc'))!, ...revoked },
      stream,
    }));
    await expect(storage.requester(eve).read('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    await expect(storage.requester(eve).readStream('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    expect(stream.destroyed).toBe(true);
  });

  it('hands the backend the version it decided on', async () => {
    const { storage, backend } = build();
    await storage.requester(alice).write('doc', 'v1');
    const version = (await backend.stat('doc'))!.version;
    const writeHeader = jest.spyOn(backend, 'writeHeader');
    const remove = jest.spyOn(backend, 'delete');
    await storage.requester(alice).setMetadata('doc', { a: 1 });
    expect(writeHeader).toHaveBeenCalledWith('doc', expect.objectContaining({ metadata: { a: 1 } }), version);
    const next = (await backend.stat('doc'))!.version;
    await storage.requester(alice).delete('doc');
    expect(remove).toHaveBeenCalledWith('doc', next);
  });

  it('gives up on a resource that keeps changing with a conflict error, after a bounded number of attempts', async () => {
    const { storage, backend } = build();
    await storage.requester(alice).write('hot', 'x');
    const writeHeader = jest.spyOn(backend, 'writeHeader').mockResolvedValue(false);
    await expect(storage.requester(alice).setMetadata('hot', { a: 1 })).rejects.toThrow(
      "Storage(Memory): 'hot' kept changing during the write; try again",
    );
    expect(writeHeader).toHaveBeenCalledTimes(MAX_WRITE_ATTEMPTS);
  });

  it('hands out copies: changing a returned ACL or metadata object changes nothing stored', async () => {
    const { storage } = build();
    const me = storage.requester(alice);
    await me.write('doc', 'x', undefined, { tags: ['a'] });
    (await me.getACL('doc'))!.addAccess('user', 'eve', 'owner');
    ((await me.getMetadata('doc'))!.tags as string[]).push('b');
    await expect(storage.requester(eve).read('doc')).rejects.toMatchObject({ name: 'ACLAccessDeniedError' });
    expect(await me.getMetadata('doc')).toEqual({ tags: ['a'] });
  });

  it('stores metadata values as JSON holds them, whatever the backend', async () => {
    const { storage } = build();
    const me = storage.requester(alice);
    const at = new Date(0);
    await me.write('doc', 'x', undefined, { at, list: [1, undefined], skipped: undefined });
    expect(await me.getMetadata('doc')).toEqual({ at: '1970-01-01T00:00:00.000Z', list: [1, null] });
  });

  it('rejects an ACL it cannot parse before any byte is staged', async () => {
    const { storage, backend } = build();
    const stage = jest.spyOn(backend, 'stage');
    await expect(storage.requester(alice).write('doc', 'x', { hashAlgorithm: 'md5' } as never)).rejects.toThrow(
      SreInvalidInputError,
    );
    expect(stage).not.toHaveBeenCalled();
  });
});
