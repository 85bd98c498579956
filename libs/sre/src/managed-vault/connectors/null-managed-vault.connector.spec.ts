import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreAccessDeniedError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { OWN_TEAM_ONLY } from '../../security/team-resolver';
import { describeManagedVaultBackend } from '../../testing/managed-vault.contract';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { ManagedVaultModule } from '../managed-vault.module';
import { ManagedVaultService } from '../managed-vault.service';
import { NullManagedVaultConnector } from './null-managed-vault.connector';

describeManagedVaultBackend('NullManagedVault', () => new NullManagedVaultConnector(), { holdsNothing: true });

describe('NullManagedVault', () => {
  it('accepts writes and keeps nothing, logging no value (W18)', async () => {
    const logger = { log: jest.fn(), error: jest.fn(), warn: jest.fn(), debug: jest.fn(), verbose: jest.fn() };
    const context = createConnectorContext({ subsystem: 'ManagedVault', connector: 'NullManagedVault' });
    Object.assign(context.logger, logger);
    const vault = new ManagedVaultService(new NullManagedVaultConnector(), context, { account: OWN_TEAM_ONLY });
    await vault.connect();
    await expect(vault.team('acme').set('oauth:google', 'sk-SECRET-VALUE')).resolves.toBeUndefined();
    await expect(vault.team('acme').get('oauth:google')).resolves.toBeUndefined();
    await expect(vault.team('acme').exists('oauth:google')).resolves.toBe(false);
    await expect(vault.team('acme').delete('oauth:google')).resolves.toBeUndefined();
    for (const fn of Object.values(logger))
      for (const call of fn.mock.calls) expect(JSON.stringify(call)).not.toContain('sk-SECRET-VALUE');
    await expect(vault.requester(AccessCandidate.public()).set('k', 'v')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await vault.disconnect();
  });

  it('boots by name from the registry', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [fakeAccountModule({ a1: 'team-a' }), ManagedVaultModule.forRoot({ connector: 'NullManagedVault' })],
    }).compile();
    await moduleRef.init();
    const vault = moduleRef.get(ManagedVaultService);
    await vault.agent('a1').set('k', 'v');
    await expect(vault.agent('a1').get('k')).resolves.toBeUndefined();
    await moduleRef.close();
  });
});
