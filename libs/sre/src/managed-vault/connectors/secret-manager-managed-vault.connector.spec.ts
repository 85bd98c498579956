import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreUnavailableError } from '../../core/errors';
import { describeManagedVaultBackend } from '../../testing/managed-vault.contract';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { ManagedVaultModule } from '../managed-vault.module';
import { ManagedVaultService } from '../managed-vault.service';
import {
  SecretManagerManagedVaultConnector,
  type SecretManagerManagedVaultSettings,
} from './secret-manager-managed-vault.connector';
import { useSecretsManagerPeer } from '../../../../../test/peers/secrets-manager-jest';

jest.setTimeout(30_000);

const sm = useSecretsManagerPeer();

let runs = 0;
const connector = (settings: Partial<SecretManagerManagedVaultSettings> = {}) =>
  new SecretManagerManagedVaultConnector(
    { ...sm.peer().settings(), prefix: `managed-${++runs}`, ...settings },
    createConnectorContext({ subsystem: 'ManagedVault', connector: 'SecretManagerManagedVault' }),
  );

describeManagedVaultBackend('SecretManagerManagedVault', () => connector(), { timeoutMs: 30_000 });

describe('SecretManagerManagedVault over the wire', () => {
  const opened: SecretManagerManagedVaultConnector[] = [];
  const open = async (settings: Partial<SecretManagerManagedVaultSettings> = {}) => {
    const vault = connector(settings);
    opened.push(vault);
    await vault.connect();
    return vault;
  };
  afterEach(async () => {
    for (const vault of opened.splice(0)) await vault.disconnect();
  });
  const stored = async (name: string) =>
    (await sm.admin().send(new GetSecretValueCommand({ SecretId: name }))).SecretString;

  it("stores the original's layout: [prefix/]team/key, {key: value}, tagged, on create and update alike (W17)", async () => {
    const vault = await open({ prefix: '' });
    await vault.writeSecret('team-a', 'oauth_google', 'tok-1');
    expect(await stored('team-a/oauth_google')).toBe('{"oauth_google":"tok-1"}');
    await vault.writeSecret('team-a', 'oauth_google', 'tok-2');
    expect(await stored('team-a/oauth_google')).toBe('{"oauth_google":"tok-2"}');
    const described = await sm.admin().send(new DescribeSecretCommand({ SecretId: 'team-a/oauth_google' }));
    expect(described.Tags).toEqual([{ Key: 'smyth-managed-vault', Value: 'true' }]);
    await expect(vault.readSecret('team-a', 'oauth_google')).resolves.toBe('tok-2');
  });

  it('reads raw values the original wrote on update, and JSON values that are not the wrapping', async () => {
    const vault = await open({ prefix: 'legacy' });
    await sm.admin().send(new CreateSecretCommand({ Name: 'legacy/team-a/raw', SecretString: 'plain-token' }));
    await sm.admin().send(new CreateSecretCommand({ Name: 'legacy/team-a/json', SecretString: '{"other":"x"}' }));
    await expect(vault.readSecret('team-a', 'raw')).resolves.toBe('plain-token');
    await expect(vault.readSecret('team-a', 'json')).resolves.toBe('{"other":"x"}');
    await vault.writeSecret('team-a', 'wrapped', '{"wrapped":"inner"}');
    await expect(vault.readSecret('team-a', 'wrapped')).resolves.toBe('{"wrapped":"inner"}');
  });

  it('deletes with the recovery window, and restores a secret pending deletion on the next write', async () => {
    const vault = await open();
    await vault.writeSecret('team-a', 'k', 'v1');
    await vault.deleteSecret('team-a', 'k');
    const name = `managed-${runs}/team-a/k`;
    expect(sm.peer().secrets.get(name)?.deleted).toBeDefined();
    await expect(vault.readSecret('team-a', 'k')).resolves.toBeUndefined();
    await expect(vault.secretExists('team-a', 'k')).resolves.toBe(false);
    await vault.deleteSecret('team-a', 'k');
    await vault.writeSecret('team-a', 'k', 'v2');
    expect(sm.peer().secrets.get(name)?.deleted).toBeUndefined();
    await expect(vault.readSecret('team-a', 'k')).resolves.toBe('v2');
    expect(await stored(name)).toBe('{"k":"v2"}');
    const immediate = await open({ recoveryWindowDays: 0 });
    await immediate.writeSecret('team-a', 'gone', 'x');
    await immediate.deleteSecret('team-a', 'gone');
    expect(sm.peer().secrets.has(`managed-${runs}/team-a/gone`)).toBe(false);
  });

  it('finds secrets by name only: no listing, whatever the team holds (W17)', async () => {
    const vault = await open();
    for (let i = 0; i < 20; i++) await vault.writeSecret('team-a', `k${i}`, `v${i}`);
    const lists = sm.peer().calls.get('ListSecrets') ?? 0;
    await expect(vault.readSecret('team-a', 'k7')).resolves.toBe('v7');
    await expect(vault.readSecret('team-a', 'missing')).resolves.toBeUndefined();
    await expect(vault.secretExists('team-a', 'missing')).resolves.toBe(false);
    expect(sm.peer().calls.get('ListSecrets') ?? 0).toBe(lists);
  });

  it('never logs a value, nor quotes one in an error (W18)', async () => {
    const logger = { log: jest.fn(), error: jest.fn(), warn: jest.fn(), debug: jest.fn(), verbose: jest.fn() };
    const context = createConnectorContext({ subsystem: 'ManagedVault', connector: 'SecretManagerManagedVault' });
    Object.assign(context.logger, logger);
    const vault = new SecretManagerManagedVaultConnector({ ...sm.peer().settings(), prefix: 'quiet' }, context);
    await vault.writeSecret('team-a', 'k', 'sk-NEVER-LOGGED');
    sm.peer().inject({ type: 'ThrottlingException', status: 400, operation: 'PutSecretValue' });
    const error = await vault.writeSecret('team-a', 'k', 'sk-NEVER-LOGGED-2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreUnavailableError);
    expect((error as Error).message).toContain("'quiet/team-a/k'");
    expect((error as Error).message).not.toContain('sk-NEVER');
    for (const fn of Object.values(logger))
      for (const call of fn.mock.calls) expect(JSON.stringify(call)).not.toContain('sk-NEVER');
    await vault.disconnect();
  });

  it('boots by name through ManagedVaultModule, accepting the seed settings', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        fakeAccountModule({ a1: 'team-a', b1: 'team-b' }),
        ManagedVaultModule.forRoot({
          connector: 'SecretManagerManagedVault',
          settings: { ...sm.peer().settings(), prefix: 'smythos', vaultName: 'unused' },
        }),
      ],
    }).compile();
    await moduleRef.init();
    const vault = moduleRef.get(ManagedVaultService);
    await vault.agent('a1').set('oauth:google', '{"access_token":"t"}');
    await expect(vault.agent('a1').get('oauth:google')).resolves.toBe('{"access_token":"t"}');
    await expect(vault.agent('b1').get('oauth:google')).resolves.toBeUndefined();
    await expect(vault.agent('a1').exists('oauth:google')).resolves.toBe(true);
    await vault.agent('a1').delete('oauth:google');
    await expect(vault.agent('a1').exists('oauth:google')).resolves.toBe(false);
    await moduleRef.close();
  });
});
