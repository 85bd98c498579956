import { Inject } from '@nestjs/common';
import { CodeService } from './code.service';
import { getCodeToken } from './code.tokens';

/** Injects the default Code (`CodeService`) or the instance registered under `name`. */
export const InjectCode = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getCodeToken(name) : CodeService);
