import { createConnectorContext } from '../../core/backend';
import { SreAccessDeniedError, SreInvalidInputError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { OWN_TEAM_ONLY } from '../../security/team-resolver';
import { describeVaultBackend } from '../../testing/vault.contract';
import { VaultService } from '../vault.service';
import { NullVaultConnector } from './null-vault.connector';

describeVaultBackend('NullVault', () => new NullVaultConnector(), { holdsNothing: true });

describe('NullVault', () => {
  const context = createConnectorContext({ subsystem: 'Vault', connector: 'NullVault' });
  const vault = new VaultService(new NullVaultConnector(), context, { account: OWN_TEAM_ONLY });
  afterAll(() => vault.disconnect());

  it('holds nothing for a team: undefined, false, [] (W16: not the truthy NULLKEY)', async () => {
    const requester = vault.team('acme');
    await expect(requester.get('openai')).resolves.toBeUndefined();
    await expect(requester.exists('openai')).resolves.toBe(false);
    await expect(requester.listKeys()).resolves.toEqual([]);
  });

  it('no longer waives the team rule: a candidate with no team is denied, as by every vault', async () => {
    for (const candidate of [AccessCandidate.user('u'), AccessCandidate.public()])
      await expect(vault.requester(candidate).get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
  });

  it('still validates keys and refuses work once closed', async () => {
    await expect(vault.team('a').get('')).rejects.toBeInstanceOf(SreInvalidInputError);
    const closed = new VaultService(new NullVaultConnector(), undefined, { account: OWN_TEAM_ONLY });
    await closed.disconnect();
    await expect(closed.team('a').get('k')).rejects.toThrow(/shut/);
  });
});
