import { Inject } from '@nestjs/common';
import { NKVService } from './nkv.service';
import { getNKVToken } from './nkv.tokens';

/** Injects the default NKV (`NKVService`) or the instance registered under `name`. */
export const InjectNKV = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getNKVToken(name) : NKVService);
