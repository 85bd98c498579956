import { Inject } from '@nestjs/common';
import { VaultService } from './vault.service';
import { getVaultToken } from './vault.tokens';

/** Injects the default Vault (`VaultService`) or the instance registered under `name`. */
export const InjectVault = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getVaultToken(name) : VaultService);
