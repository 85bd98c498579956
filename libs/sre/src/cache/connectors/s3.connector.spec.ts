import { ACL } from '../../security/acl';
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
