import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCognitoPeer, type CognitoPeer } from './peers/cognito';
import { startLambdaPeer, type LambdaPeer } from './peers/lambda';
import { startRedis, type RedisPeer } from './peers/redis';
import { startS3Peer, type S3Peer } from './peers/s3';
import { startSecretsManagerPeer, type SecretsManagerPeer } from './peers/secrets-manager';
import { startExampleApp, type RunningApp } from './support/app-process';
import { rawRequest } from './support/http';

const CONFIG = path.resolve(__dirname, '../docs/examples/aws-production.sre-config.json');
const BUCKET = 'production-storage';
const REDIS_PASSWORD = 'example-app-aws-redis-pw';
const SECRET_VALUE = `sk-acme-${Date.now()}-do-not-log`;
const ROLE = 'arn:aws:iam::000000000000:role/sre-lambda';
/** A team custom model (Account setting `user-custom-llm`, in the Cognito group's description). */
const ACME_MODELS = { m1: { name: 'acme-private-llm', modelId: 'acme-llm-1', provider: 'OpenAI' } };

// five peers and a child process to start (cognito-local alone takes a few seconds)
jest.setTimeout(60_000);

/**
 * The example app on the seed's production configuration
 * (docs/examples/aws-production.sre-config.json), every AWS endpoint pointed at a local peer by
 * environment variables only: Secrets Manager (Vault and ManagedVault), Lambda (really runs the
 * deployed zip), cognito-local (Account), s3rver behind the fault proxy (Storage; s3rver ignores the
 * conditional headers the connector relies on, the proxy applies them) and Redis (Cache, where
 * Code keeps its deployment hashes).
 *
 * One AWS key pair for every service, as a deployment on real AWS has: the config names no keys,
 * the SDK's default chain reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. The Secrets Manager peer
 * insists on its own generated pair and s3rver only knows `S3RVER`, so the pair is the former's and
 * is registered with s3rver (it checks the key id of a V4 signature, not the signature itself).
 */
describe('example app on AWS (built, own process, SRE_CONFIG=docs/examples/aws-production.sre-config.json)', () => {
  let secrets: SecretsManagerPeer;
  let lambda: LambdaPeer;
  let cognito: CognitoPeer;
  let s3: S3Peer;
  let redis: RedisPeer;
  let app: RunningApp;
  let raw: S3Client;
  let agentsDir: string;
  let dataDir: string;
  const unregister: (() => void)[] = [];

  /** Every key in the bucket, straight from s3rver (not through the proxy). */
  async function bucketKeys(): Promise<string[]> {
    const page = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    return (page.Contents ?? []).map(({ Key }) => Key!).sort();
  }

  async function seedCognito(): Promise<{ userPoolId: string; clientId: string }> {
    const admin = new CognitoIdentityProviderClient(cognito.clientConfig());
    try {
      const pool = await admin.send(new CreateUserPoolCommand({ PoolName: 'sre-example-app' }));
      const UserPoolId = pool.UserPool!.Id!;
      const client = await admin.send(new CreateUserPoolClientCommand({ UserPoolId, ClientName: 'example-app' }));
      // team acme = group acme; its settings are the JSON object in the description
      await admin.send(
        new CreateGroupCommand({
          UserPoolId,
          GroupName: 'acme',
          Description: JSON.stringify({ 'user-custom-llm': JSON.stringify(ACME_MODELS) }),
        }),
      );
      await admin.send(new AdminCreateUserCommand({ UserPoolId, Username: 'ada', MessageAction: 'SUPPRESS' }));
      await admin.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: 'ada', GroupName: 'acme' }));
      return { userPoolId: UserPoolId, clientId: client.UserPoolClient!.ClientId! };
    } finally {
      admin.destroy();
    }
  }

  beforeAll(async () => {
    [secrets, lambda, cognito, s3, redis] = await Promise.all([
      startSecretsManagerPeer(),
      startLambdaPeer(),
      startCognitoPeer(),
      startS3Peer([BUCKET]),
      startRedis({ password: REDIS_PASSWORD }),
    ]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver ships no types
    const accounts = require('s3rver/lib/models/account') as {
      DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
    };
    accounts.DUMMY_ACCOUNT.createKeyPair(secrets.accessKeyId, secrets.secretAccessKey);
    unregister.push(() => accounts.DUMMY_ACCOUNT.revokeAccessKey(secrets.accessKeyId));
    raw = new S3Client({
      endpoint: s3.directEndpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      forcePathStyle: true,
    });
    // the Vault layout: <prefix>/<team>/<key>
    const sm = new SecretsManagerClient(secrets.clientConfig());
    try {
      await sm.send(new CreateSecretCommand({ Name: 'smythos/acme/api-key', SecretString: SECRET_VALUE }));
    } finally {
      sm.destroy();
    }
    const pool = await seedCognito();
    agentsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-e2e-aws-agents-'));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-e2e-aws-'));
    app = await startExampleApp({
      SRE_DATA_DIR: dataDir,
      SRE_CONFIG: CONFIG,
      SRE_CONFIG_JSON: '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: secrets.accessKeyId,
      AWS_SECRET_ACCESS_KEY: secrets.secretAccessKey,
      // nothing of the developer's own AWS setup may reach the default chain
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: path.join(dataDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dataDir, 'no-aws-credentials'),
      SECRETS_MANAGER_ENDPOINT: secrets.endpoint,
      LAMBDA_ENDPOINT: lambda.endpoint,
      LAMBDA_ROLE_ARN: ROLE,
      COGNITO_ENDPOINT: cognito.endpoint,
      COGNITO_USER_POOL_ID: pool.userPoolId,
      COGNITO_CLIENT_ID: pool.clientId,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: BUCKET,
      // s3rver 3.x corrupts streamed uploads with checksums (see S3 `checksums`)
      S3_CHECKSUMS: 'WHEN_REQUIRED',
      REDIS_HOSTS: `${redis.host}:${redis.port}`,
      REDIS_PASSWORD,
      SRE_AGENTS_DIR: agentsDir,
    });
  });

  afterAll(async () => {
    const exit = await app?.stop();
    raw?.destroy();
    for (const undo of unregister.splice(0)) undo();
    await Promise.all([secrets?.stop(), lambda?.stop(), cognito?.stop(), s3?.stop(), redis?.stop()]);
    for (const dir of [agentsDir, dataDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    const log = app.output();
    expect(log).not.toMatch(/ERROR/);
    for (const secret of [SECRET_VALUE, secrets.secretAccessKey, REDIS_PASSWORD]) expect(log).not.toContain(secret);
  });

  it('GET /health reports every production connector up', async () => {
    const res = await rawRequest(app.baseUrl, 'GET', '/health');
    const body = JSON.parse(res.body.toString());
    expect([res.status, body.status]).toEqual([200, 'ok']);
    expect(body.info).toMatchObject({
      Vault: { status: 'up', connector: 'SecretsManager' },
      ManagedVault: { status: 'up', connector: 'SecretManagerManagedVault' },
      Code: { status: 'up', connector: 'AWSLambda' },
      Account: { status: 'up', connector: 'AWSAccount' },
      Storage: { status: 'up', connector: 'S3' },
      Cache: { status: 'up', connector: 'Redis' },
      AgentData: { status: 'up', connector: 'Local' },
    });
    expect(JSON.stringify(body)).not.toContain('"down"');
  });

  it('POST /code/run deploys to Lambda once, runs there with the Vault secret, and does not redeploy the same code', async () => {
    const code =
      "import { createHash } from 'node:crypto';\n" +
      'export async function main(a, b) {\n' +
      // an expression, not a quoted template: the connector rewrites it to a lookup in the client context
      '  const key = {{KEY(api-key)}};\n' +
      "  return { sum: a + b, fn: process.env.AWS_LAMBDA_FUNCTION_NAME, key: createHash('sha256').update(key).digest('hex') };\n" +
      '}';
    const body = JSON.stringify({ code, inputs: { a: 2, b: 3 } });
    const acme = { 'x-sre-team': 'acme', 'content-type': 'application/json' };
    const first = await rawRequest(app.baseUrl, 'POST', '/code/run', { body, headers: acme });
    expect(first.status).toBe(200);
    const answer = JSON.parse(first.body.toString());
    const [name] = [...lambda.functions.keys()];
    expect(answer).toMatchObject({
      success: true,
      // the secret reached the function (per invocation, W45) without coming back in clear
      output: { sum: 5, fn: name, key: createHash('sha256').update(SECRET_VALUE).digest('hex') },
    });
    expect(lambda.functions.size).toBe(1);
    expect(lambda.functions.get(name)!.tags).toMatchObject({ 'sre-team': 'acme' });
    // the secret is not in the function's environment
    expect(JSON.stringify(lambda.functions.get(name)!.config)).not.toContain(SECRET_VALUE);
    expect([lambda.calls.get('POST ') ?? 0, lambda.calls.get('POST fn/invocations') ?? 0]).toEqual([1, 1]);
    // the deployment's hash went to the Cache, i.e. Redis
    expect(await redis.cli('KEYS', '*serverless_code_*')).toContain(name);

    const second = await rawRequest(app.baseUrl, 'POST', '/code/run', { body, headers: acme });
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body.toString()).output).toEqual(answer.output);
    expect(lambda.calls.get('POST ') ?? 0).toBe(1);
    expect(lambda.calls.get('PUT fn/code') ?? 0).toBe(0);
    expect(lambda.calls.get('POST fn/invocations')).toBe(2);
  });

  it("/files: PUT, GET and DELETE on S3 for team acme; another team gets 403 on acme's file", async () => {
    const acme = { 'x-sre-team': 'acme' };
    const rival = { 'x-sre-team': 'rival' };
    const put = await rawRequest(app.baseUrl, 'PUT', '/files/plans/q3.txt', {
      body: 'acme q3 plan',
      headers: { ...acme, 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(201);
    // in the bucket itself, not on the local disk
    expect(await bucketKeys()).toContain('plans/q3.txt');
    expect((await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'plans/q3.txt' }))).ContentLength).toBe(12);
    expect(fs.existsSync(path.join(dataDir, 'storage'))).toBe(false);
    const got = await rawRequest(app.baseUrl, 'GET', '/files/plans/q3.txt', { headers: acme });
    expect([got.status, got.body.toString()]).toEqual([200, 'acme q3 plan']);
    for (const method of ['GET', 'DELETE'])
      expect((await rawRequest(app.baseUrl, method, '/files/plans/q3.txt', { headers: rival })).status).toBe(403);
    expect(
      (await rawRequest(app.baseUrl, 'PUT', '/files/plans/q3.txt', { body: 'defaced', headers: rival })).status,
    ).toBe(403);
    expect((await rawRequest(app.baseUrl, 'DELETE', '/files/plans/q3.txt', { headers: acme })).status).toBe(204);
    expect((await rawRequest(app.baseUrl, 'GET', '/files/plans/q3.txt', { headers: acme })).status).toBe(404);
    expect((await bucketKeys()).filter((key) => key.startsWith('plans/'))).toEqual([]);
  });

  it("/models answers for team acme with its custom model from Cognito; another team's list lacks it", async () => {
    const names = async (team: string) => {
      const res = await rawRequest(app.baseUrl, 'GET', '/models', { headers: { 'x-sre-team': team } });
      expect(res.status).toBe(200);
      return (JSON.parse(res.body.toString()).models as { name: string }[]).map((model) => model.name);
    };
    const acme = await names('acme');
    expect(acme).toContain('acme-private-llm');
    const rival = await names('rival');
    expect(rival).not.toContain('acme-private-llm');
    // the built-in models are there for both
    expect(rival.length).toBeGreaterThan(0);
    expect(acme.length).toBe(rival.length + 1);
  });
});
