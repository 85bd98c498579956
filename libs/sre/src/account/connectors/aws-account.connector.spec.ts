import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminRemoveUserFromGroupCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../../core/backend';
import { SreUnavailableError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { describeAccountBackend, type AccountSeed } from '../../testing/account.contract';
import { AccountModule } from '../account.module';
import { AccountService } from '../account.service';
import { AWSAccountConnector, type AWSAccountSettings } from './aws-account.connector';
import { startCognitoPeer, type CognitoPeer } from '../../../../../test/peers/cognito';

jest.setTimeout(60_000);

let peer: CognitoPeer;
let admin: CognitoIdentityProviderClient;
beforeAll(async () => {
  peer = await startCognitoPeer();
  admin = new CognitoIdentityProviderClient(peer.clientConfig());
}, 30_000);
afterAll(async () => {
  admin?.destroy();
  await peer?.stop();
});

const attributes = (settings: Record<string, string> = {}) =>
  Object.entries(settings).map(([key, value]) => ({ Name: `custom:${key}`, Value: value }));

/** A fresh user pool holding `seed`: teams as groups (settings in the description), principals as users. */
async function createPool(seed: AccountSeed, groupPrefix = ''): Promise<{ userPoolId: string; clientId: string }> {
  const pool = await admin.send(new CreateUserPoolCommand({ PoolName: `sre-${Date.now()}-${Math.random()}` }));
  const userPoolId = pool.UserPool!.Id!;
  const client = await admin.send(new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: 'sre' }));
  const created = new Set<string>();
  for (const [team, data] of Object.entries(seed)) {
    const GroupName = `${groupPrefix}${team}`;
    await admin.send(
      new CreateGroupCommand({ UserPoolId: userPoolId, GroupName, Description: JSON.stringify(data.settings ?? {}) }),
    );
    const members = [
      ...Object.entries(data.users ?? {}).map(([id, user]) => [id, user.settings] as const),
      ...Object.entries(data.agents ?? {}).map(([id, agent]) => [`agent.${id}`, agent.settings] as const),
    ];
    for (const [Username, settings] of members) {
      if (!created.has(Username)) {
        created.add(Username);
        await admin.send(
          new AdminCreateUserCommand({
            UserPoolId: userPoolId,
            Username,
            MessageAction: 'SUPPRESS',
            UserAttributes: attributes(settings),
          }),
        );
      }
      await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username, GroupName }));
    }
  }
  return { userPoolId, clientId: client.UserPoolClient!.ClientId! };
}

const connector = (settings: Partial<AWSAccountSettings> & { userPoolId: string }) =>
  new AWSAccountConnector(
    { ...peer.settings(), ...settings },
    createConnectorContext({ subsystem: 'Account', connector: 'AWSAccount' }),
  );

describeAccountBackend('AWSAccount', async (seed) => connector(await createPool(seed)), { timeoutMs: 30_000 });

describe('AWSAccount over cognito-local', () => {
  const opened: AWSAccountConnector[] = [];
  const open = async (settings: Partial<AWSAccountSettings> & { userPoolId: string }) => {
    const account = connector(settings);
    opened.push(account);
    await account.connect();
    return account;
  };
  afterEach(async () => {
    for (const account of opened.splice(0)) await account.disconnect();
  });

  it('acts for the team of lowest precedence, and is a member of every team it is in', async () => {
    const { userPoolId } = await createPool({ zeta: { users: { dana: {} } }, alpha: { users: { dana: {} } } });
    await admin.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: 'first', Precedence: 1 }));
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: 'dana', GroupName: 'first' }));
    const account = await open({ userPoolId });
    await expect(account.getCandidateTeam(AccessCandidate.user('dana'))).resolves.toBe('first');
    for (const team of ['first', 'alpha', 'zeta'])
      await expect(account.isTeamMember(team, AccessCandidate.user('dana'))).resolves.toBe(true);
    // without precedence, the name decides
    const plain = await open({ userPoolId, groupPrefix: '' });
    await admin.send(
      new AdminRemoveUserFromGroupCommand({ UserPoolId: userPoolId, Username: 'dana', GroupName: 'first' }),
    );
    await expect(plain.getCandidateTeam(AccessCandidate.user('dana'))).resolves.toBe('alpha');
  });

  it('takes only groups with groupPrefix as teams, the prefix stripped', async () => {
    const { userPoolId } = await createPool({ acme: { users: { erin: {} }, settings: { vault: 'v' } } }, 'team-');
    await admin.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: 'admins', Precedence: 0 }));
    await admin.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: 'erin', GroupName: 'admins' }));
    const account = await open({ userPoolId, groupPrefix: 'team-' });
    await expect(account.getCandidateTeam(AccessCandidate.user('erin'))).resolves.toBe('acme');
    await expect(account.isTeamMember('admins', AccessCandidate.user('erin'))).resolves.toBe(false);
    await expect(account.getTeamSetting('acme', 'vault')).resolves.toBe('v');
  });

  it('resolves a principal once per teamCacheSeconds; 0 asks Cognito every time', async () => {
    const { userPoolId } = await createPool({ acme: { users: { finn: {} } } });
    const cached = await open({ userPoolId, teamCacheSeconds: 60 });
    const fresh = await open({ userPoolId, teamCacheSeconds: 0 });
    const finn = AccessCandidate.user('finn');
    const resolved = await Promise.all(Array.from({ length: 20 }, () => cached.getCandidateTeam(finn)));
    expect(new Set(resolved)).toEqual(new Set(['acme']));
    await expect(fresh.getCandidateTeam(finn)).resolves.toBe('acme');
    await admin.send(
      new AdminRemoveUserFromGroupCommand({ UserPoolId: userPoolId, Username: 'finn', GroupName: 'acme' }),
    );
    await expect(cached.getCandidateTeam(finn)).resolves.toBe('acme');
    await expect(fresh.getCandidateTeam(finn)).resolves.toBeUndefined();
    await expect(fresh.isTeamMember('acme', finn)).resolves.toBe(false);
  });

  it('reads team settings that do not fit a description from teamSettingsFile, the description winning', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-aws-account-'));
    try {
      const big = JSON.stringify({ models: 'x'.repeat(5_000) });
      fs.writeFileSync(
        path.join(dir, 'teams.json'),
        JSON.stringify({ acme: { 'custom-llm': big, vault: 'from-file' }, ghost: { only: 'file' } }),
      );
      const { userPoolId } = await createPool({ acme: { settings: { vault: 'from-group' } } });
      const account = new AWSAccountConnector(
        { ...peer.settings(), userPoolId, teamSettingsFile: 'teams.json' },
        createConnectorContext({ subsystem: 'Account', connector: 'AWSAccount', dataDir: dir }),
      );
      opened.push(account);
      await account.connect();
      await expect(account.getTeamSetting('acme', 'custom-llm')).resolves.toBe(big);
      await expect(account.getTeamSetting('acme', 'vault')).resolves.toBe('from-group');
      await expect(account.getTeamSetting('ghost', 'only')).resolves.toBe('file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails clearly and within bounded time when Cognito is unreachable', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const account = await open({
      userPoolId: 'us-east-1_nowhere',
      endpoint: `http://127.0.0.1:${port}`,
      callTimeoutMs: 2_000,
    });
    const started = Date.now();
    const error = await account.getCandidateTeam(AccessCandidate.user('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreUnavailableError);
    expect((error as Error).message).toMatch(
      /Account\(AWSAccount\): AdminListGroupsForUser of 'x' failed: the endpoint is unreachable/,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('boots by name through AccountModule, for the other subsystems to resolve teams', async () => {
    const pool = await createPool({
      acme: { users: { gil: { settings: { theme: 'dark' } } }, settings: { region: 'eu' } },
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AccountModule.forRoot({ connector: 'AWSAccount', settings: { ...peer.settings(), ...pool } })],
    }).compile();
    await moduleRef.init();
    const account = moduleRef.get(AccountService);
    await expect(account.user('gil').getCandidateTeam()).resolves.toBe('acme');
    await expect(account.user('gil').getTeamSetting('region')).resolves.toBe('eu');
    await expect(account.user('gil').getUserSetting('theme')).resolves.toBe('dark');
    await moduleRef.close();
  });
});
