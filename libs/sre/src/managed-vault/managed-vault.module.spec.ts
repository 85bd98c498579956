import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectManagedVault } from './managed-vault.decorators';
import { ManagedVaultModule } from './managed-vault.module';
import { MANAGED_VAULT_DEFINITION } from './managed-vault.registry';
import { ManagedVaultService } from './managed-vault.service';

class MemoryManagedVault extends ManagedVaultService {
  readonly secrets = new Map<string, string>();

  protected async readSecret(team: string, key: string) {
    return this.secrets.get(`${team}/${key}`);
  }

  protected async writeSecret(team: string, key: string, value: string) {
    this.secrets.set(`${team}/${key}`, value);
  }

  protected async deleteSecret(team: string, key: string) {
    this.secrets.delete(`${team}/${key}`);
  }

  protected async secretExists(team: string, key: string) {
    return this.secrets.has(`${team}/${key}`);
  }
}

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };

describe('ManagedVaultModule', () => {
  const { useConnector } = describeSubsystemModule(MANAGED_VAULT_DEFINITION, ManagedVaultModule, InjectManagedVault, {
    connector: MemoryManagedVault,
    planned: ['SecretManagerManagedVault', 'NullManagedVault'],
    unknownName: 'Vaulty',
  });

  describe('requester (team-scoped)', () => {
    const vault = useConnector(fakeAccountModule(TEAMS));

    it('sets, reads, deletes and re-creates a secret in the team namespace', async () => {
      const agent = vault().agent('a1');
      await agent.set('oauth:google', '{"token":"t1"}');
      expect(await agent.get('oauth:google')).toBe('{"token":"t1"}');
      expect(await vault().team('team-a').exists('oauth:google')).toBe(true);
      expect([...vault().secrets.keys()]).toEqual(['team-a/oauth:google']);
      await agent.delete('oauth:google');
      await agent.delete('oauth:google');
      expect(await agent.exists('oauth:google')).toBe(false);
      await agent.set('oauth:google', 'again');
      expect(await agent.get('oauth:google')).toBe('again');
    });

    it('isolates another team and denies a candidate without a team', async () => {
      await vault().agent('a1').set('k', 'v');
      expect(await vault().agent('b1').get('k')).toBeUndefined();
      expect(await vault().agent('b1').exists('k')).toBe(false);
      await expect(vault().agent('nobody').get('k')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(vault().user('nobody').set('k', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
      expect(await vault().hasAccess(AccessCandidate.agent('b1'), 'read', 'teams/team-a/managed-vault/k')).toBe(false);
      expect(await vault().hasAccess(AccessCandidate.team('team-b'), 'write', 'teams/team-a/managed-vault/k')).toBe(
        false,
      );
      expect(await vault().hasAccess(AccessCandidate.agent('a1'), 'write', 'teams/team-a/managed-vault/k')).toBe(true);
    });

    it('rejects empty keys and non-string values', async () => {
      await expect(vault().agent('a1').get('')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(
        vault()
          .agent('a1')
          .set('k', 42 as never),
      ).rejects.toBeInstanceOf(SreInvalidInputError);
    });
  });
});
