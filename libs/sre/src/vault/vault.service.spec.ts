import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccountModule } from '../account/account.module';
import { DummyAccountConnector, DummyAccountSettings } from '../account/connectors/dummy-account.connector';
import { createConnectorContext } from '../core/connector';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError } from '../core/errors';
import { checkConnectorOptions } from '../core/module-factory';
import { AccessCandidate } from '../security/access-candidate';
import { JSONFileVaultConnector, JSONFileVaultSettings } from './connectors/json-file-vault.connector';
import { NullVaultConnector } from './connectors/null-vault.connector';
import { VaultModule } from './vault.module';
import { VAULT_CONNECTORS, VAULT_DEFINITION } from './vault.registry';
import { VaultService } from './vault.service';
import { getVaultToken } from './vault.tokens';

const VAULT = {
  default: { 'my-key': 'Hello world', DIFFBOT_API: 'diffbot-default', openai: 'sk-default' },
  acme: { openai: 'sk-acme', only_acme: 'acme-secret', number: 42, nested: { x: 'y' } },
  globex: { openai: 'sk-globex' },
  shared: { tavily: 'tv-shared', openai: 'sk-shared' },
};

const ACCOUNT_DATA = {
  acme: { users: { alice: {} }, agents: { 'acme-bot': {} } },
  globex: { users: { bob: {} } },
};

let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-vault-'));
  file = path.join(dir, 'vault.json');
  fs.writeFileSync(file, JSON.stringify(VAULT), { mode: 0o600 });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function account(fallbackTeam: string | null = 'default'): DummyAccountConnector {
  return new DummyAccountConnector(Object.assign(new DummyAccountSettings(), { data: ACCOUNT_DATA, fallbackTeam }));
}

function vault(
  settings: Partial<JSONFileVaultSettings> = {},
  deps: Record<string, unknown> = { account: account() },
): JSONFileVaultConnector {
  const all = Object.assign(new JSONFileVaultSettings(), { file }, settings);
  return new JSONFileVaultConnector(
    all,
    createConnectorContext({ subsystem: 'Vault', connector: 'JSONFileVault', dataDir: dir, deps }),
  );
}

describe('VaultService requester (JSONFileVault)', () => {
  let plain: JSONFileVaultConnector;
  let withShared: JSONFileVaultConnector;
  beforeAll(() => {
    plain = vault();
    withShared = vault({ shared: 'shared' });
  });
  afterAll(() => Promise.all([plain.disconnect(), withShared.disconnect()]));

  it('reads the secrets of a team candidate’s own team', async () => {
    await expect(plain.team('default').get('my-key')).resolves.toBe('Hello world');
    await expect(plain.team('acme').get('openai')).resolves.toBe('sk-acme');
    await expect(plain.team('globex').get('openai')).resolves.toBe('sk-globex');
  });

  it('resolves users and agents to their team through the account subsystem', async () => {
    await expect(plain.user('alice').get('only_acme')).resolves.toBe('acme-secret');
    await expect(plain.agent('acme-bot').get('openai')).resolves.toBe('sk-acme');
    await expect(plain.user('bob').get('openai')).resolves.toBe('sk-globex');
    // an unlisted user falls back to the account's fallback team (the original's test: DIFFBOT_API)
    await expect(plain.user('stranger').get('DIFFBOT_API')).resolves.toBe('diffbot-default');
  });

  it('never reads another team’s secrets', async () => {
    await expect(plain.team('globex').get('only_acme')).resolves.toBeUndefined();
    await expect(plain.user('bob').get('only_acme')).resolves.toBeUndefined();
    await expect(plain.team('acme').get('my-key')).resolves.toBeUndefined();
    await expect(plain.team('globex').exists('only_acme')).resolves.toBe(false);
    await expect(plain.hasAccess(AccessCandidate.team('globex'), 'read', 'only_acme')).resolves.toBe(false);
    await expect(plain.hasAccess(AccessCandidate.user('alice'), 'read', 'only_acme')).resolves.toBe(true);
  });

  it('falls back to the shared team only when configured (W12)', async () => {
    await expect(plain.team('acme').get('tavily')).resolves.toBeUndefined();
    await expect(withShared.team('acme').get('tavily')).resolves.toBe('tv-shared');
    await expect(withShared.user('bob').get('tavily')).resolves.toBe('tv-shared');
    // the team's own value wins over the shared one
    await expect(withShared.team('acme').get('openai')).resolves.toBe('sk-acme');
    await expect(withShared.team('nobody-team').get('openai')).resolves.toBe('sk-shared');
    await expect(withShared.hasAccess(AccessCandidate.team('acme'), 'read', 'tavily')).resolves.toBe(true);
    await expect(withShared.hasAccess(AccessCandidate.team('acme'), 'write', 'tavily')).resolves.toBe(false);
  });

  it('counts only string values', async () => {
    await expect(plain.team('acme').get('number')).resolves.toBeUndefined();
    await expect(plain.team('acme').get('nested')).resolves.toBeUndefined();
    await expect(plain.team('acme').exists('only_acme')).resolves.toBe(true);
  });

  it('lists only the candidate’s own keys, plus the shared ones when configured (W06)', async () => {
    await expect(plain.team('acme').listKeys()).resolves.toEqual(['only_acme', 'openai']);
    await expect(plain.user('bob').listKeys()).resolves.toEqual(['openai']);
    await expect(plain.team('unknown').listKeys()).resolves.toEqual([]);
    await expect(withShared.team('acme').listKeys()).resolves.toEqual(['only_acme', 'openai', 'tavily']);
    await expect(withShared.team('shared').listKeys()).resolves.toEqual(['openai', 'tavily']);
  });

  it('denies candidates that have no team', async () => {
    const strict = vault({}, { account: account(null) });
    await expect(strict.user('stranger').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(strict.user('stranger').listKeys()).rejects.toThrow('belongs to no team');
    await expect(strict.requester(AccessCandidate.public()).get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(strict.user('alice').get('openai')).resolves.toBe('sk-acme');
    // without an Account subsystem only team candidates have a team
    const alone = vault({}, {});
    await expect(alone.agent('acme-bot').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(alone.team('acme').get('openai')).resolves.toBe('sk-acme');
    await Promise.all([strict.disconnect(), alone.disconnect()]);
  });

  it('reports a failing account backend as a backend error, not as a missing key (W56)', async () => {
    const broken = vault({}, { account: { getCandidateTeam: () => Promise.reject(new Error('account store down')) } });
    await expect(broken.user('alice').get('openai')).rejects.toBeInstanceOf(SreBackendError);
    await broken.disconnect();
  });

  it('rejects malformed keys', async () => {
    await expect(plain.team('acme').get('')).rejects.toBeInstanceOf(SreInvalidInputError);
    await expect(plain.team('acme').get('a\u0000b')).rejects.toBeInstanceOf(SreInvalidInputError);
  });

  it('resolves {{KEY(name)}} templates, leaving the name of a missing key', async () => {
    const requester = withShared.user('alice');
    await expect(
      requester.resolveTemplate('Bearer {{KEY(openai)}} / {{ KEY( tavily ) }} / {{KEY(missing)}} / {{MyVAR}}'),
    ).resolves.toBe('Bearer sk-acme / tv-shared / missing / {{MyVAR}}');
    await expect(requester.resolveTemplate('no template')).resolves.toBe('no template');
  });
});

describe('a vault backend that fails', () => {
  class FailingVault extends VaultService {
    async getSecret(): Promise<string | undefined> {
      throw new Error('connection reset');
    }
    async listSecretKeys(): Promise<string[]> {
      throw new Error('connection reset');
    }
  }

  it('throws SreBackendError from get, exists and listKeys instead of answering "missing" (W56)', async () => {
    const failing = new FailingVault(createConnectorContext({ subsystem: 'Vault', connector: 'Failing' }));
    const requester = failing.team('acme');
    await expect(requester.get('openai')).rejects.toBeInstanceOf(SreBackendError);
    await expect(requester.exists('openai')).rejects.toBeInstanceOf(SreBackendError);
    await expect(requester.listKeys()).rejects.toBeInstanceOf(SreBackendError);
    await expect(requester.resolveTemplate('{{KEY(openai)}}')).rejects.toBeInstanceOf(SreBackendError);
  });
});

describe('NullVault', () => {
  const nullVault = new NullVaultConnector(createConnectorContext({ subsystem: 'Vault', connector: 'NullVault' }));

  it('holds nothing for anyone: undefined, false, [] (W16)', async () => {
    for (const candidate of [AccessCandidate.team('acme'), AccessCandidate.user('u'), AccessCandidate.public()]) {
      const requester = nullVault.requester(candidate);
      await expect(requester.get('openai')).resolves.toBeUndefined();
      await expect(requester.exists('openai')).resolves.toBe(false);
      await expect(requester.listKeys()).resolves.toEqual([]);
    }
  });

  it('still validates keys and refuses work once closed', async () => {
    await expect(nullVault.team('a').get('')).rejects.toBeInstanceOf(SreInvalidInputError);
    const closed = new NullVaultConnector();
    await closed.disconnect();
    await expect(closed.team('a').get('k')).rejects.toThrow(/shut/);
  });
});

describe('Vault registry and module', () => {
  it('registers JSONFileVault and NullVault and names the planned connectors', () => {
    expect(VAULT_CONNECTORS.get('JSONFileVault')).toBe(JSONFileVaultConnector);
    expect(VAULT_CONNECTORS.get('NullVault')).toBe(NullVaultConnector);
    for (const name of ['SecretsManager', 'HashicorpVault'])
      expect(VAULT_CONNECTORS.describeMissing(name)).toContain('not available in this version');
  });

  it.each([
    [{ shared: 'a b' }, 'settings.shared: must use letters'],
    [{ keyEnv: '1BAD' }, 'settings.keyEnv: must be an environment variable name'],
    [{ watch: 'yes' }, 'settings.watch'],
    [{ fileKey: '/keys/private.pem' }, 'settings.fileKey: RSA-encrypted vault files are not supported'],
    [{ file: '' }, 'settings.file'],
    [{ master: 'x' }, 'settings.master: unknown setting'],
  ])('reports bad settings %j', (settings, expected) => {
    const { problems } = checkConnectorOptions(VAULT_DEFINITION, { connector: 'JSONFileVault', settings });
    expect(problems.join('\n')).toContain(expected);
  });

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
    expect(service).toBeInstanceOf(JSONFileVaultConnector);
    expect(moduleRef.get(getVaultToken())).toBe(service);
    await expect(service.user('alice').get('openai')).resolves.toBe('sk-acme');
    await expect(service.user('stranger').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await moduleRef.close();
    expect(service.state).toBe('closed');
  });
});
