import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startS3Peer, type S3Peer } from './peers/s3';
import { startExampleApp, type RunningApp } from './support/app-process';
import { describeFileRoutes } from './support/example-file-routes';
import { rawRequest } from './support/http';

const CONFIG = path.resolve(__dirname, '../docs/examples/s3.sre-config.json');
const BUCKET = 'example-files';
const PREFIX = 'example/';

/**
 * The same example app, switched to S3 for Storage by configuration alone: the JSON file in
 * docs/examples named by SRE_CONFIG, endpoint, bucket, prefix and keys in S3_* variables. The peer
 * is s3rver behind the fault proxy (no fault injected here): s3rver ignores `If-Match` and
 * `If-None-Match`, which the connector's creates, replaces and leases rely on, and the proxy
 * applies them as S3 does.
 */
describe('example app on S3 (built, own process, SRE_CONFIG=docs/examples/s3.sre-config.json)', () => {
  let peer: S3Peer;
  let app: RunningApp;
  let raw: S3Client;
  let dataDir: string;

  /** Every key in the bucket (the prefix's and anyone else's), straight from s3rver. */
  async function bucketKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
      for (const { Key } of page.Contents ?? []) if (Key) keys.push(Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  beforeAll(async () => {
    peer = await startS3Peer([BUCKET]);
    // the test's own view goes to s3rver directly: what it lists is what is stored, not what the proxy says
    raw = new S3Client({
      endpoint: peer.directEndpoint,
      region: peer.region,
      credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-e2e-s3-'));
    app = await startExampleApp({
      SRE_DATA_DIR: dataDir,
      SRE_CONFIG: CONFIG,
      SRE_CONFIG_JSON: '',
      S3_ENDPOINT: peer.endpoint,
      S3_BUCKET: BUCKET,
      S3_PREFIX: PREFIX,
      S3_ACCESS_KEY_ID: peer.accessKeyId,
      S3_SECRET_ACCESS_KEY: peer.secretAccessKey,
    });
  }, 60_000);

  afterAll(async () => {
    const exit = await app?.stop();
    raw?.destroy();
    await peer?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.output()).not.toMatch(/ERROR/);
    expect(app.output()).not.toContain(peer.secretAccessKey);
  });

  it('GET /health reports Storage on S3 up', async () => {
    const res = await rawRequest(app.baseUrl, 'GET', '/health');
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString());
    expect(body.status).toBe('ok');
    expect(body.info).toMatchObject({
      Storage: { status: 'up', connector: 'S3' },
      Cache: { status: 'up', connector: 'RAM' },
    });
  });

  it("keeps files in the bucket under the prefix, in the original's layout, with no lease or staging object left", async () => {
    const acme = { 'x-sre-team': 'acme', 'content-type': 'text/plain' };
    expect((await rawRequest(app.baseUrl, 'PUT', '/files/layout/doc.txt', { body: 'v1', headers: acme })).status).toBe(
      201,
    );
    // the second PUT replaces: that one takes the key's lease
    expect((await rawRequest(app.baseUrl, 'PUT', '/files/layout/doc.txt', { body: 'v2', headers: acme })).status).toBe(
      201,
    );
    const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}layout/doc.txt` }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.ContentLength).toBe(2);
    expect(head.Metadata).toMatchObject({ acl: expect.stringMatching(/^h:xxh3\|/), 'sre-rev': expect.any(String) });
    expect(fs.existsSync(path.join(dataDir, 'storage'))).toBe(false);
    // the lease goes with a DELETE sent after the answer (see S3Objects.withLease): allow for it
    const leftovers = async () => (await bucketKeys()).filter((key) => /\.sre-(lease|staging)/.test(key));
    let left = await leftovers();
    for (const until = Date.now() + 10_000; left.length > 0 && Date.now() < until; left = await leftovers())
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(left).toEqual([]);
  });

  describeFileRoutes(() => app, {
    list: bucketKeys,
    sizeOf: async (id) =>
      Number((await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${id}` }))).ContentLength),
    // the S3 counterpart of "nothing outside the data folder": nothing outside the prefix
    afterTraversal: async () => {
      expect((await bucketKeys()).filter((key) => !key.startsWith(PREFIX))).toEqual([]);
    },
  });

  it('a 200 MB upload leaves no staging object behind once committed', async () => {
    expect((await bucketKeys()).filter((key) => key.includes('.sre-'))).toEqual([]);
  });
});
