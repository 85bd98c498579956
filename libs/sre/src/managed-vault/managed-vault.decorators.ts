import { Inject } from '@nestjs/common';
import { ManagedVaultService } from './managed-vault.service';
import { getManagedVaultToken } from './managed-vault.tokens';

/** Injects the default ManagedVault (`ManagedVaultService`) or the instance registered under `name`. */
export const InjectManagedVault = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getManagedVaultToken(name) : ManagedVaultService);
