import { Inject } from '@nestjs/common';
import { CacheService } from './cache.service';
import { getCacheToken } from './cache.tokens';

/** Injects the default Cache (`CacheService`) or the instance registered under `name`. */
export const InjectCache = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getCacheToken(name) : CacheService);
