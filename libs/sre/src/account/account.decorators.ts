import { Inject } from '@nestjs/common';
import { AccountService } from './account.service';
import { getAccountToken } from './account.tokens';

/** Injects the default Account (`AccountService`) or the instance registered under `name`. */
export const InjectAccount = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getAccountToken(name) : AccountService);
