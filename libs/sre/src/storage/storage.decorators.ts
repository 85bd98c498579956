import { Inject } from '@nestjs/common';
import { StorageService } from './storage.service';
import { getStorageToken } from './storage.tokens';

/** Injects the default Storage (`StorageService`) or the instance registered under `name`. */
export const InjectStorage = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getStorageToken(name) : StorageService);
