import { Inject } from '@nestjs/common';
import { ComponentService } from './component.service';
import { getComponentToken } from './component.tokens';

/** Injects the default Component (`ComponentService`) or the instance registered under `name`. */
export const InjectComponent = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getComponentToken(name) : ComponentService);
