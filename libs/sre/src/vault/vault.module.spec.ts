import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccountModule } from '../account/account.module';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { checkConnectorOptions } from '../core/subsystem';
import { MemoryVaultBackend } from '../testing/backends/memory-vault.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { JSONFileVaultConnector } from './connectors/json-file-vault.connector';
import { NullVaultConnector } from './connectors/null-vault.connector';
import { SecretsManagerVaultConnector } from './connectors/secrets-manager.connector';
import { getVaultToken, InjectVault, VAULT, VAULT_CONNECTORS, VaultModule } from './vault.module';
import { VaultService } from './vault.service';

const ACCOUNT_DATA = {
  acme: { users: { alice: {} }, agents: { 'acme-bot': {} } },
  globex: { users: { bob: {} } },
};

describe('VaultModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryVaultBackend, VaultService>(VAULT, VaultModule, InjectVault, {
    connector: MemoryVaultBackend,
    planned: ['HashicorpVault'],
    unknownName: 'Vaulty',
    available: ['JSONFileVault', 'NullVault', 'SecretsManager'],
    imports: [fakeAccountModule({ alice: 'acme' })],
  });

  describe('a custom connector class', () => {
    const vault = useConnector(fakeAccountModule({ alice: 'acme' }));

    it('is wrapped in the real service, scoped by the Account stand-in', async () => {
      backendOf<MemoryVaultBackend>(vault()).set('acme', 'openai', 'sk-acme');
      await expect(vault().user('alice').get('openai')).resolves.toBe('sk-acme');
      await expect(vault().user('bob').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });
  });

  it('loads JSONFileVault, NullVault and SecretsManager (with its SDK) on first use', () => {
    expect(VAULT_CONNECTORS.get('JSONFileVault')).toBe(JSONFileVaultConnector);
    expect(VAULT_CONNECTORS.get('NullVault')).toBe(NullVaultConnector);
    expect(VAULT_CONNECTORS.get('SecretsManager')).toBe(SecretsManagerVaultConnector);
    expect(VAULT_CONNECTORS.entry('SecretsManager')?.sdk).toEqual([
      { package: '@aws-sdk/client-secrets-manager', range: '^3' },
    ]);
  });

  it.each([
    [{ shared: 'a b' }, 'settings.shared: must use letters'],
    [{ keyEnv: '1BAD' }, 'settings.keyEnv: must be an environment variable name'],
    [{ watch: 'yes' }, 'settings.watch'],
    [{ fileKey: '/keys/private.pem' }, 'settings.fileKey: RSA-encrypted vault files are not supported'],
    [{ file: '' }, 'settings.file'],
    [{ master: 'x' }, 'settings.master: unknown setting'],
  ])('reports bad JSONFileVault settings %j', (settings, expected) => {
    const { problems } = checkConnectorOptions(VAULT, { connector: 'JSONFileVault', settings });
    expect(problems.join('\n')).toContain(expected);
  });

  it.each([
    [{ prefix: '/lead' }, 'settings.prefix: must be empty or secret-name characters'],
    [{ cacheTtlSeconds: -1 }, 'settings.cacheTtlSeconds'],
    [{ endpoint: 'nope' }, 'settings.endpoint'],
    [{ awsSecretAccessKey: '' }, 'settings.awsSecretAccessKey'],
  ])('reports bad SecretsManager settings %j, never a value', (settings, expected) => {
    const { problems } = checkConnectorOptions(VAULT, { connector: 'SecretsManager', settings });
    expect(problems.join('\n')).toContain(expected);
  });

  it('refuses to boot without the Account subsystem, saying so', async () => {
    const error = await Test.createTestingModule({ imports: [VaultModule.forRoot({ connector: 'NullVault' })] })
      .compile()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain('Vault(NullVault): needs the Account subsystem (team resolution)');
  });

  describe('with JSONFileVault and AccountModule', () => {
    let dir: string;
    let file: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-vault-module-'));
      file = path.join(dir, 'vault.json');
      fs.writeFileSync(file, JSON.stringify({ acme: { openai: 'sk-acme' } }), { mode: 0o600 });
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('wires the Account subsystem into the vault through DI', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          AccountModule.forRoot({
            connector: 'DummyAccount',
            settings: { data: ACCOUNT_DATA, fallbackTeam: null },
            isGlobal: true,
          }),
          VaultModule.forRoot({ connector: 'JSONFileVault', settings: { file } }),
        ],
      }).compile();
      const service = moduleRef.get(VaultService);
      expect(service).toBeInstanceOf(VaultService);
      expect(backendOf(service)).toBeInstanceOf(JSONFileVaultConnector);
      expect(moduleRef.get(getVaultToken())).toBe(service);
      await expect(service.user('alice').get('openai')).resolves.toBe('sk-acme');
      await expect(service.agent('acme-bot').listKeys()).resolves.toEqual(['openai']);
      await expect(service.user('bob').get('openai')).resolves.toBeUndefined();
      await expect(service.user('stranger').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await moduleRef.close();
      expect(service.state).toBe('closed');
    });
  });
});
