import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { CacheService } from '../cache.service';
import { describeCacheBackend } from '../../testing/cache.contract';
import { startS3Peer, type S3Peer } from '../../../../../test/peers/s3';
import { S3CacheConnector } from './s3.connector';

jest.setTimeout(60_000);

let peer: S3Peer;
beforeAll(async () => {
  peer = await startS3Peer(['cache']);
});
afterAll(() => peer?.stop());

let runs = 0;
const fresh = () =>
  new S3CacheConnector({ ...peer.settings(), bucketName: 'cache', prefix: `run-${++runs}/`, sweepIntervalSeconds: 0 });

// the SDK's sockets and timers run on the real clock
describeCacheBackend('S3', fresh, { clock: 'real' });

describe('S3 cache sweep', () => {
  it('deletes expired entries and keeps live ones', async () => {
    const cache = fresh();
    await cache.connect();
    try {
      const acl = new ACL().addAccess('user', 'alice', 'owner');
      await cache.write('short', { value: 'a', acl, metadata: '{}', expiresAt: Date.now() + 200 }, undefined);
      await cache.write('long', { value: 'b', acl, metadata: '{}', expiresAt: Date.now() + 60_000 }, undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await cache.sweep()).toBe(1);
      expect(await cache.objects.head(cache.objects.keyOf('_smyth_cache/short'))).toBeUndefined();
      expect((await cache.readEntry('long'))?.value).toBe('b');
    } finally {
      await cache.disconnect();
    }
  });
});

describe('S3 cache writes without a lease', () => {
  const account = { getCandidateTeam: async () => 'acme' };
  const requests = () => {
    const seen: string[] = [];
    // a "fault" that never fires: its filter sees every request
    peer.proxy.inject({ kind: 'slowdown', count: 1e9, when: (r) => seen.push(`${r.method} ${r.url}`) < 0 });
    return seen;
  };
  afterEach(() => peer.proxy.inject({ kind: 'slowdown', count: 0 }));

  it('replaces a key it last read or wrote with one conditional PUT (the state is in the body: the ETag names it)', async () => {
    const connector = fresh();
    const cache = new CacheService(connector, undefined, { account });
    await cache.connect();
    try {
      const alice = cache.requester(AccessCandidate.user('alice'));
      await alice.set('k', 'one');
      const seen = requests();
      await alice.set('k', 'two');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^PUT .*_smyth_cache\/k/);
      expect(await alice.get('k')).toBe('two');
      // a header-only change (the ACL) rewrites the body too: its ETag changes with it
      const before = (await connector.readInfo('k'))!.version;
      await alice.setACL('k', new ACL().addAccess('user', 'bob', 'read'));
      expect((await connector.readInfo('k'))!.version).not.toBe(before);
      expect(await cache.requester(AccessCandidate.user('bob')).get('k')).toBe('two');
      expect(seen.some((r) => r.includes('sre-lease'))).toBe(false);
    } finally {
      peer.proxy.inject({ kind: 'slowdown', count: 0 });
      await cache.disconnect();
    }
  });

  it('reads entries of the earlier layout (state in user metadata only) and replaces them under the lease', async () => {
    const connector = fresh();
    await connector.connect();
    try {
      const acl = new ACL().addAccess('user', 'alice', 'owner');
      // the earlier body: 4 bytes of metadata length, the metadata, the value
      const metadata = Buffer.from('{"note":"old"}');
      const size = Buffer.alloc(4);
      size.writeUInt32BE(metadata.length);
      const name = connector.objects.keyOf('_smyth_cache/legacy');
      const Metadata = { acl: acl.serialize(), 'sre-type': 's', 'sre-rev': 'r1' };
      await connector.objects.put(name, Buffer.concat([size, metadata, Buffer.from('old value')]), { Metadata });
      const found = await connector.readEntry('legacy');
      expect(found?.value).toBe('old value');
      expect(await connector.readMetadata('legacy', found!.info.version)).toBe('{"note":"old"}');
      const seen = requests();
      expect(
        await connector.write(
          'legacy',
          { value: 'new', acl, metadata: '{}', expiresAt: undefined },
          found!.info.version,
        ),
      ).toBe(true);
      expect(seen.some((r) => r.includes('sre-lease'))).toBe(true);
      peer.proxy.inject({ kind: 'slowdown', count: 0 });
      expect((await connector.readEntry('legacy'))?.value).toBe('new');
      expect(String((await connector.readInfo('legacy'))?.version)).toMatch(/^s:/);
    } finally {
      await connector.disconnect();
    }
  });
});
