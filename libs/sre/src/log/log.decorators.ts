import { Inject } from '@nestjs/common';
import { LogService } from './log.service';
import { getLogToken } from './log.tokens';

/** Injects the default Log (`LogService`) or the instance registered under `name`. */
export const InjectLog = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getLogToken(name) : LogService);
