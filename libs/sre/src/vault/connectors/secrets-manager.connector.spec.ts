import { CreateSecretCommand, DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { Test } from '@nestjs/testing';
import * as net from 'node:net';
import { SecretNames } from '../../core/aws-secrets';
import { createConnectorContext } from '../../core/backend';
import { SreBackendError, SreUnavailableError } from '../../core/errors';
import { teamResolver } from '../../testing/contract-harness';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { describeVaultBackend, type VaultSeed } from '../../testing/vault.contract';
import { VaultModule } from '../vault.module';
import { VaultService } from '../vault.service';
import { SecretsManagerVaultConnector, type SecretsManagerVaultSettings } from './secrets-manager.connector';
import { useSecretsManagerPeer } from '../../../../../test/peers/secrets-manager-jest';

jest.setTimeout(30_000);

const sm = useSecretsManagerPeer();

let runs = 0;
const prefixes = () => `vault-${++runs}`;

/** Creates the secrets over the wire, the way an operator would. */
async function seed(prefix: string, teams: Record<string, Record<string, string>>): Promise<void> {
  const names = new SecretNames(prefix);
  for (const [team, secrets] of Object.entries(teams))
    for (const [key, value] of Object.entries(secrets))
      await sm.admin().send(new CreateSecretCommand({ Name: names.nameOf(team, key), SecretString: value }));
}

function connector(settings: Partial<SecretsManagerVaultSettings> = {}, secrets: string[] = []) {
  const context = createConnectorContext({ subsystem: 'Vault', connector: 'SecretsManager', secrets });
  return new SecretsManagerVaultConnector({ ...sm.peer().settings(), ...settings }, context);
}

describeVaultBackend(
  'SecretsManager',
  async ({ teams = {}, shared }: VaultSeed) => {
    const prefix = prefixes();
    await seed(prefix, teams);
    return connector({ prefix, shared });
  },
  // Secrets Manager holds at most 64 KiB per secret
  { largeValueBytes: 60 * 1024, timeoutMs: 30_000 },
);

describe('SecretsManager vault over the wire', () => {
  const opened: SecretsManagerVaultConnector[] = [];
  const open = async (settings: Partial<SecretsManagerVaultSettings> = {}, secrets: string[] = []) => {
    const vault = connector(settings, secrets);
    opened.push(vault);
    await vault.connect();
    return vault;
  };
  afterEach(async () => {
    for (const vault of opened.splice(0)) await vault.disconnect();
  });

  it('names secrets <prefix>/<team>/<key>, and reads secrets created by hand under that layout', async () => {
    await sm.admin().send(new CreateSecretCommand({ Name: 'layout/acme/openai', SecretString: 'sk-hand' }));
    await sm.admin().send(new CreateSecretCommand({ Name: 'acme/openai', SecretString: 'sk-no-prefix' }));
    await expect((await open({ prefix: 'layout' })).getSecret('acme', 'openai')).resolves.toBe('sk-hand');
    await expect((await open({ prefix: '' })).getSecret('acme', 'openai')).resolves.toBe('sk-no-prefix');
    await expect((await open({ prefix: 'layout' })).listSecretKeys('acme')).resolves.toEqual(['openai']);
    // the default prefix is the original's
    await sm.admin().send(new CreateSecretCommand({ Name: 'smythos/test/secret', SecretString: 'test_value' }));
    await expect((await open()).getSecret('test', 'secret')).resolves.toBe('test_value');
  });

  it('lists every page, and only names exactly in the team folder (the AWS filter is looser)', async () => {
    const prefix = prefixes();
    const many = Object.fromEntries(Array.from({ length: 230 }, (_, i) => [`key-${i}`, `v${i}`]));
    await seed(prefix, { acme: many, ACME: { upper: 'x' }, 'acme-corp': { other: 'y' } });
    const before = sm.peer().calls.get('ListSecrets') ?? 0;
    const keys = await (await open({ prefix })).listSecretKeys('acme');
    expect(keys.sort()).toEqual(Object.keys(many).sort());
    expect((sm.peer().calls.get('ListSecrets') ?? 0) - before).toBe(3);
  });

  it('treats a secret pending deletion as missing', async () => {
    const prefix = prefixes();
    await seed(prefix, { acme: { gone: 'soon' } });
    await sm.admin().send(new DeleteSecretCommand({ SecretId: `${prefix}/acme/gone`, RecoveryWindowInDays: 7 }));
    const vault = await open({ prefix });
    await expect(vault.getSecret('acme', 'gone')).resolves.toBeUndefined();
    await expect(vault.listSecretKeys('acme')).resolves.toEqual([]);
  });

  it('uses explicit credentials (W15): wrong keys fail clearly, without the secret, whatever the environment', async () => {
    const prefix = prefixes();
    await seed(prefix, { acme: { openai: 'sk-acme' } });
    const env = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: sm.peer().accessKeyId,
      AWS_SECRET_ACCESS_KEY: sm.peer().secretAccessKey,
    });
    try {
      const wrongSecret = 'wrong-secret-value-4411';
      const wrong = await open({ prefix, accessKeyId: 'AKIAWRONGWRONGWRONG', secretAccessKey: wrongSecret }, [
        wrongSecret,
      ]);
      const error = await wrong.getSecret('acme', 'openai').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreBackendError);
      expect((error as Error).message).toMatch(/refused the credentials.*UnrecognizedClientException/);
      expect((error as Error).message).not.toContain(wrongSecret);
      expect((error as Error).message).not.toContain('sk-acme');
      // without keys the default chain (here: the environment) is used
      const chain = await open({ prefix, accessKeyId: undefined, secretAccessKey: undefined });
      await expect(chain.getSecret('acme', 'openai')).resolves.toBe('sk-acme');
    } finally {
      restoreEnv('AWS_ACCESS_KEY_ID', env.id);
      restoreEnv('AWS_SECRET_ACCESS_KEY', env.secret);
    }
  });

  it('tells missing from denied, throttled and unreachable (W56)', async () => {
    const prefix = prefixes();
    await seed(prefix, { acme: { openai: 'sk-acme' } });
    const vault = await open({ prefix });
    await expect(vault.getSecret('acme', 'missing')).resolves.toBeUndefined();
    sm.peer().inject({ type: 'AccessDeniedException', status: 400 });
    await expect(vault.getSecret('acme', 'openai')).rejects.toThrow(/refused the credentials or the permission/);
    sm.peer().inject({ type: 'ThrottlingException', status: 400 });
    await expect(vault.getSecret('acme', 'openai')).rejects.toBeInstanceOf(SreUnavailableError);
    sm.peer().inject({ type: 'InternalServiceError', status: 500 });
    await expect(vault.listSecretKeys('acme')).rejects.toBeInstanceOf(SreBackendError);
    // with retries a transient throttle is absorbed
    const retrying = await open({ prefix, maxAttempts: 3 });
    sm.peer().inject({ type: 'ThrottlingException', status: 400 });
    await expect(retrying.getSecret('acme', 'openai')).resolves.toBe('sk-acme');
  });

  it('fails within bounded time against an unreachable or silent endpoint', async () => {
    const closed = await freePort();
    const down = await open({ endpoint: `http://127.0.0.1:${closed}`, maxAttempts: 2, callTimeoutMs: 3_000 });
    let started = Date.now();
    const error = await down.getSecret('acme', 'openai').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreUnavailableError);
    expect((error as Error).message).toMatch(/unreachable/);
    expect((error as Error).message).not.toContain(sm.peer().secretAccessKey);
    expect(Date.now() - started).toBeLessThan(4_000);

    sm.peer().delay(2_000);
    try {
      const slow = await open({ requestTimeoutMs: 300, callTimeoutMs: 800 });
      started = Date.now();
      await expect(slow.getSecret('acme', 'openai')).rejects.toBeInstanceOf(SreUnavailableError);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      sm.peer().delay(0);
    }
  });

  it('caches per team for cacheTtlSeconds, and never serves one team what was read for another', async () => {
    const prefix = prefixes();
    await seed(prefix, { acme: { openai: 'sk-acme' }, globex: { openai: 'sk-globex' } });
    const vault = await open({ prefix, cacheTtlSeconds: 1 });
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe('sk-acme');
    await expect(vault.getSecret('globex', 'openai')).resolves.toBe('sk-globex');
    await expect(vault.getSecret('initech', 'openai')).resolves.toBeUndefined();
    const reads = sm.peer().calls.get('GetSecretValue');
    sm.peer().secrets.get(`${prefix}/acme/openai`)!.versions.at(-1)!.value = 'sk-acme-rotated';
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe('sk-acme');
    await expect(vault.getSecret('globex', 'openai')).resolves.toBe('sk-globex');
    await expect(vault.getSecret('initech', 'openai')).resolves.toBeUndefined();
    expect(sm.peer().calls.get('GetSecretValue')).toBe(reads);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe('sk-acme-rotated');
  });

  it('keeps team B from team A through the service, whatever the cache (isolation)', async () => {
    const prefix = prefixes();
    await seed(prefix, { 'team-a': { token: 'a-secret' }, 'team-b': {} });
    const context = createConnectorContext({ subsystem: 'Vault', connector: 'SecretsManager' });
    const service = new VaultService(connector({ prefix, cacheTtlSeconds: 60 }), context, {
      account: teamResolver({ alice: 'team-a', bob: 'team-b' }),
    });
    await expect(service.user('alice').get('token')).resolves.toBe('a-secret');
    await expect(service.user('bob').get('token')).resolves.toBeUndefined();
    await expect(service.user('bob').listKeys()).resolves.toEqual([]);
    await expect(service.team('team-b').exists('token')).resolves.toBe(false);
    await service.disconnect();
  });

  it('boots by name through VaultModule', async () => {
    const prefix = prefixes();
    await seed(prefix, { acme: { openai: 'sk-module' } });
    const moduleRef = await Test.createTestingModule({
      imports: [
        fakeAccountModule({ alice: 'acme' }),
        VaultModule.forRoot({ connector: 'SecretsManager', settings: { ...sm.peer().settings(), prefix } }),
      ],
    }).compile();
    await moduleRef.init();
    await expect(moduleRef.get(VaultService).user('alice').get('openai')).resolves.toBe('sk-module');
    await moduleRef.close();
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
