import { Inject } from '@nestjs/common';
import { RouterService } from './router.service';
import { getRouterToken } from './router.tokens';

/** Injects the default Router (`RouterService`) or the instance registered under `name`. */
export const InjectRouter = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getRouterToken(name) : RouterService);
