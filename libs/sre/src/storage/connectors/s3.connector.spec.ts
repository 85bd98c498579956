import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createConnectorContext } from '../../core/backend';
import { SreAccessDeniedError, SreBackendError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { OWN_TEAM_ONLY } from '../../security/team-resolver';
import { StorageService } from '../storage.service';
import { describeStorageBackend } from '../../testing/storage.contract';
import { startS3Peer, type S3Peer } from '../../../../../test/peers/s3';
import { encodeS3Header } from './s3-metadata';
import { S3StorageConnector } from './s3.connector';

jest.setTimeout(60_000);

let peer: S3Peer;
beforeAll(async () => {
  peer = await startS3Peer(['storage']);
});
afterAll(() => peer?.stop());

let runs = 0;
const MiB = 1024 * 1024;

describeStorageBackend(
  'S3',
  () =>
    new S3StorageConnector({
      ...peer.settings(),
      bucket: 'storage',
      // every test in its own prefix: the suite needs a fresh store each time
      prefix: `run-${++runs}/`,
      multipartThresholdBytes: 5 * MiB,
      partSizeBytes: 5 * MiB,
    }),
);

// one writer declared: leases in memory and the last state seen standing in for a HEAD
describeStorageBackend(
  'S3 (singleWriter)',
  () =>
    new S3StorageConnector({
      ...peer.settings(),
      bucket: 'storage',
      prefix: `single-${++runs}/`,
      multipartThresholdBytes: 5 * MiB,
      partSizeBytes: 5 * MiB,
      singleWriter: true,
    }),
);

describe('S3 storage under faults (fault proxy between the SDK and s3rver)', () => {
  const alice = new ACL().addAccess('user', 'alice', 'owner');
  let store: S3StorageConnector;
  beforeEach(async () => {
    store = new S3StorageConnector({
      ...peer.settings(),
      bucket: 'storage',
      prefix: `faults-${++runs}/`,
      maxAttempts: 3,
      requestTimeoutMs: 500,
      multipartThresholdBytes: 5 * MiB,
      partSizeBytes: 5 * MiB,
    });
    await store.connect();
  });
  afterEach(async () => {
    peer.proxy.inject({ kind: 'slowdown', count: 0 });
    await store.disconnect();
  });

  /**
   * A fresh store with another idle limit than the 500 ms the stall tests need: none for a test
   * that uploads parts and injects no stall (a 5 MiB part on a busy machine may idle past 500 ms),
   * or a longer one for a stall that has to outlast some checks.
   */
  async function withIdleLimit(requestTimeoutMs?: number): Promise<void> {
    await store.disconnect();
    store = new S3StorageConnector({
      ...peer.settings(),
      bucket: 'storage',
      prefix: `faults-${++runs}/`,
      maxAttempts: 3,
      requestTimeoutMs,
      multipartThresholdBytes: 5 * MiB,
      partSizeBytes: 5 * MiB,
    });
    await store.connect();
  }

  async function put(id: string, data: Buffer | string, ifVersion?: unknown): Promise<boolean> {
    const staged = await store.stage(id, data);
    try {
      return await staged.commit({ acl: alice, metadata: { ContentType: 'text/plain' } }, ifVersion);
    } finally {
      await staged.discard();
    }
  }

  it.each(['slowdown', 'drop', 'stall'] as const)(
    'retries through %s on the first two requests and succeeds',
    async (kind) => {
      const before = peer.proxy.faulted;
      peer.proxy.inject({ kind, count: 2, when: (r) => r.method === 'PUT' });
      expect(await put('doc.txt', `written through ${kind}`)).toBe(true);
      expect(peer.proxy.faulted - before).toBe(2);
      expect((await store.read('doc.txt'))?.data.toString()).toBe(`written through ${kind}`);
    },
  );

  it('retries a failed part of a multipart upload', async () => {
    await withIdleLimit();
    const bytes = randomBytes(11 * MiB);
    peer.proxy.inject({ kind: 'slowdown', count: 2, when: (r) => r.url.includes('partNumber=2') });
    expect(await put('big.bin', bytes)).toBe(true);
    expect((await store.read('big.bin'))?.data.equals(bytes)).toBe(true);
  });

  it('past the retry budget fails with a typed error naming the connector, and the previous object stays', async () => {
    expect(await put('kept.txt', 'version 1')).toBe(true);
    const v1 = (await store.stat('kept.txt'))!.version;
    peer.proxy.inject({
      kind: 'slowdown',
      count: 100,
      when: (r) => r.method === 'PUT' && !r.url.includes('sre-lease'),
    });
    const failed = put('kept.txt', 'version 2', v1);
    await expect(failed).rejects.toThrow(SreBackendError);
    await expect(failed).rejects.toThrow(/Storage\(S3\): PutObject of 'kept\.txt' failed: SlowDown \(HTTP 503\)/);
    peer.proxy.inject({ kind: 'slowdown', count: 0 });
    expect((await store.read('kept.txt'))?.data.toString()).toBe('version 1');
    expect((await store.stat('kept.txt'))?.version).toBe(v1);
  });

  it('answers a replace before its lease is released, and disconnect waits for the release', async () => {
    // the lease's DELETE below stalls once until the client's idle limit, 3 s here, which leaves
    // the checks time on a busy machine; its retry then goes through
    await withIdleLimit(3_000);
    expect(await put('leased.txt', 'version 1')).toBe(true);
    const v1 = (await store.stat('leased.txt'))!.version;
    const lease = `${store.objects.prefix}.sre-lease\\leased.txt`;
    peer.proxy.inject({ kind: 'stall', count: 1, when: (r) => r.method === 'DELETE' && r.url.includes('sre-lease') });
    expect(await put('leased.txt', 'version 2', v1)).toBe(true);
    // answered while the release still stalls: the lease is there yet
    expect(await store.objects.head(lease)).toBeDefined();
    expect((await store.read('leased.txt'))?.data.toString()).toBe('version 2');
    await store.disconnect();
    const after = new S3StorageConnector({ ...peer.settings(), bucket: 'storage', prefix: store.objects.prefix });
    try {
      expect(await after.objects.head(lease)).toBeUndefined();
    } finally {
      await after.disconnect();
    }
  });

  it('uploads a large stream whose header is known to the key itself: invisible until committed, no copy', async () => {
    await withIdleLimit();
    const seen: string[] = [];
    // a "fault" that never fires: its filter sees every request
    peer.proxy.inject({ kind: 'slowdown', count: 1e9, when: (r) => seen.push(`${r.method} ${r.url}`) < 0 });
    const bytes = randomBytes(11 * MiB);
    const header = { acl: alice, metadata: { ContentType: 'application/octet-stream' } };
    const staged = await store.stage('direct.bin', Readable.from([bytes]), header);
    try {
      expect(await store.stat('direct.bin')).toBeUndefined();
      expect(await staged.commit(header, undefined)).toBe(true);
    } finally {
      await staged.discard();
    }
    expect((await store.read('direct.bin'))?.data.equals(bytes)).toBe(true);
    expect(seen.some((r) => r.includes('sre-staging'))).toBe(false);
    expect(seen.some((r) => r.startsWith('PUT') && !r.includes('partNumber') && !r.includes('sre-lease'))).toBe(false);
  });

  it('refuses to commit such an upload with another header, publishes nothing, and aborts it on discard', async () => {
    await withIdleLimit();
    const seen: string[] = [];
    peer.proxy.inject({ kind: 'slowdown', count: 1e9, when: (r) => seen.push(`${r.method} ${r.url}`) < 0 });
    const header = { acl: alice, metadata: {} };
    const staged = await store.stage('changed.bin', Readable.from([randomBytes(6 * MiB)]), header);
    const other = { acl: new ACL().addAccess('user', 'bob', 'owner'), metadata: {} };
    expect(await staged.commit(other, undefined)).toBe(false);
    await staged.discard();
    expect(await store.stat('changed.bin')).toBeUndefined();
    expect(seen.filter((r) => r.startsWith('DELETE') && r.includes('changed.bin?uploadId='))).toHaveLength(1);
    expect(seen.some((r) => r.startsWith('POST') && r.includes('changed.bin?uploadId='))).toBe(false);
  });

  it('a stalled peer past the budget fails within the time box', async () => {
    peer.proxy.inject({ kind: 'stall', count: 100 });
    const started = Date.now();
    await expect(store.stat('anything')).rejects.toThrow(/Storage\(S3\): HeadObject of 'anything' failed/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a missing bucket fails at connect with a configuration error, not a raw SDK error', async () => {
    const lost = new S3StorageConnector({ ...peer.settings(), bucket: 'no-such-bucket' });
    await expect(lost.connect()).rejects.toThrow(/settings\.bucket names a bucket that does not exist/);
    await lost.disconnect();
  });
});

describe('S3 storage through StorageService: a change holds one lease over its read and its write', () => {
  const alice = AccessCandidate.user('alice');
  const bob = AccessCandidate.user('bob');
  let store: S3StorageConnector;
  let storage: StorageService;
  let seen: string[];
  beforeEach(async () => {
    store = new S3StorageConnector({ ...peer.settings(), bucket: 'storage', prefix: `sections-${++runs}/` });
    const context = createConnectorContext({ subsystem: 'Storage', connector: 'S3' });
    storage = new StorageService(store, context, { account: OWN_TEAM_ONLY });
    await storage.connect();
    seen = [];
    // a "fault" that never fires: its filter sees every request
    peer.proxy.inject({ kind: 'slowdown', count: 1e9, when: (r) => seen.push(`${r.method} ${r.url}`) < 0 });
  });
  afterEach(async () => {
    peer.proxy.inject({ kind: 'slowdown', count: 0 });
    jest.restoreAllMocks();
    await storage.disconnect();
  });

  const onObject = (name: string) => seen.filter((r) => r.includes(`/${name}`) && !r.includes('sre-lease'));

  it('reads the object once per replace, setMetadata and delete: under the lease, not before it', async () => {
    await storage.requester(alice).write('doc.txt', 'v1');
    for (const change of [
      () => storage.requester(alice).write('doc.txt', 'v2'),
      () => storage.requester(alice).setMetadata('doc.txt', { by: 'alice' }),
      () => storage.requester(alice).delete('doc.txt'),
    ]) {
      seen.length = 0;
      await change();
      expect(onObject('doc.txt').filter((r) => r.startsWith('HEAD'))).toHaveLength(1);
      expect(onObject('doc.txt').filter((r) => !r.startsWith('HEAD'))).toHaveLength(1);
      expect(seen.filter((r) => r.startsWith('PUT') && r.includes('sre-lease'))).toHaveLength(1);
    }
    expect(await storage.requester(alice).read('doc.txt')).toBeUndefined();
  });

  it('a writer bypassing the lease who changes the bytes in between makes the service decide again', async () => {
    await storage.requester(alice).write('doc.txt', 'v1', new ACL().addAccess('user', 'bob', 'write'));
    const stat = store.stat.bind(store);
    let bypassed = false;
    jest.spyOn(store, 'stat').mockImplementation(async (id) => {
      const entry = await stat(id);
      if (!bypassed && entry?.acl.checkExactAccess(bob, 'write')) {
        bypassed = true;
        // e.g. the original SRE or a console: no lease, bytes and ACL replaced
        const header = encodeS3Header({ acl: new ACL().addAccess('user', 'alice', 'owner'), metadata: {} }, 'r');
        await store.objects.put(store.objects.keyOf(id), Buffer.from('by console'), header);
      }
      return entry;
    });
    await expect(storage.requester(bob).write('doc.txt', 'by bob')).rejects.toThrow(SreAccessDeniedError);
    expect(bypassed).toBe(true);
    expect((await storage.requester(alice).read('doc.txt'))?.toString()).toBe('by console');
  });

  describe('with singleWriter', () => {
    beforeEach(async () => {
      await storage.disconnect();
      store = new S3StorageConnector({
        ...peer.settings(),
        bucket: 'storage',
        prefix: `single-sections-${++runs}/`,
        singleWriter: true,
      });
      storage = new StorageService(store, createConnectorContext({ subsystem: 'Storage', connector: 'S3' }), {
        account: OWN_TEAM_ONLY,
      });
      await storage.connect();
      seen.length = 0;
    });

    it('a replace, setMetadata and delete after a write are one request each: no HEAD, no lease object', async () => {
      await storage.requester(alice).write('doc.txt', 'v1');
      for (const [change, method] of [
        [() => storage.requester(alice).write('doc.txt', 'v2'), 'PUT'],
        [() => storage.requester(alice).setMetadata('doc.txt', { by: 'alice' }), 'PUT'],
        [() => storage.requester(alice).write('doc.txt', 'v3'), 'PUT'],
        [() => storage.requester(alice).delete('doc.txt'), 'DELETE'],
      ] as const) {
        seen.length = 0;
        await change();
        expect(seen).toEqual([expect.stringMatching(new RegExp(`^${method} .*/doc\\.txt`))]);
      }
      expect(await storage.requester(alice).read('doc.txt')).toBeUndefined();
    });

    it('keeps content type, metadata and ACL of what it wrote: a header change starts from them', async () => {
      await storage
        .requester(alice)
        .write('doc.txt', 'v1', new ACL().addAccess('user', 'bob', 'read'), { ContentType: 'text/plain', n: 1 });
      await storage.requester(alice).setMetadata('doc.txt', { by: 'alice' });
      expect(await storage.requester(bob).stat('doc.txt')).toMatchObject({
        size: 2,
        contentType: 'text/plain',
        metadata: { ContentType: 'text/plain', n: 1, by: 'alice' },
      });
    });

    it('a foreign write of the bytes refuses the remembered condition: the replace is read and decided again', async () => {
      await storage.requester(alice).write('doc.txt', 'v1', new ACL().addAccess('user', 'bob', 'write'));
      // e.g. a console, against the declaration: bytes and ACL replaced, unknown to the connector
      const header = encodeS3Header({ acl: new ACL().addAccess('user', 'alice', 'owner'), metadata: {} }, 'r');
      await store.objects.put(store.objects.keyOf('doc.txt'), Buffer.from('by console'), header);
      seen.length = 0;
      await expect(storage.requester(bob).write('doc.txt', 'by bob')).rejects.toThrow(SreAccessDeniedError);
      // the refused PutObject, then the HEAD the decision is made again on
      expect(onObject('doc.txt').map((r) => r.split(' ')[0])).toEqual(['PUT', 'HEAD']);
      expect((await storage.requester(alice).read('doc.txt'))?.toString()).toBe('by console');
    });

    it('an object deleted behind its back is created again, not an error', async () => {
      await storage.requester(alice).write('doc.txt', 'v1');
      await store.objects.remove(store.objects.keyOf('doc.txt'));
      await storage.requester(alice).write('doc.txt', 'v2');
      expect((await storage.requester(alice).read('doc.txt'))?.toString()).toBe('v2');
    });
  });
});
