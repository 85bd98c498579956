import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { MemoryManagedVaultBackend } from '../testing/backends/memory-managed-vault.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import {
  InjectManagedVault,
  MANAGED_VAULT,
  MANAGED_VAULT_CONNECTORS,
  ManagedVaultModule,
} from './managed-vault.module';
import { SecretManagerManagedVaultConnector } from './connectors/secret-manager-managed-vault.connector';
import { ManagedVaultService } from './managed-vault.service';

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };

describe('ManagedVaultModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryManagedVaultBackend, ManagedVaultService>(
    MANAGED_VAULT,
    ManagedVaultModule,
    InjectManagedVault,
    {
      connector: MemoryManagedVaultBackend,
      planned: [],
      available: ['SecretManagerManagedVault', 'NullManagedVault'],
      unknownName: 'Vaulty',
      imports: [fakeAccountModule(TEAMS)],
    },
  );

  describe('requester (team-scoped)', () => {
    const vault = useConnector(fakeAccountModule(TEAMS));

    it('writes through the real service into the team namespace of the custom backend', async () => {
      await vault().agent('a1').set('oauth:google', '{"token":"t1"}');
      expect([...backendOf<MemoryManagedVaultBackend>(vault()).secrets.keys()]).toEqual(['team-a/oauth:google']);
      await expect(vault().team('team-a').get('oauth:google')).resolves.toBe('{"token":"t1"}');
      await expect(vault().agent('nobody').get('oauth:google')).rejects.toBeInstanceOf(SreAccessDeniedError);
    });
  });

  it('loads SecretManagerManagedVault on first use, with its SDK', () => {
    expect(MANAGED_VAULT_CONNECTORS.get('SecretManagerManagedVault')).toBe(SecretManagerManagedVaultConnector);
    expect(MANAGED_VAULT_CONNECTORS.entry('SecretManagerManagedVault')?.sdk).toEqual([
      { package: '@aws-sdk/client-secrets-manager', range: '^3' },
    ]);
  });

  it('refuses to boot without the Account subsystem, saying so', async () => {
    const error = await Test.createTestingModule({
      imports: [ManagedVaultModule.forRoot({ connector: MemoryManagedVaultBackend })],
    })
      .compile()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain(
      'ManagedVault(MemoryManagedVault): needs the Account subsystem (team resolution)',
    );
  });
});
