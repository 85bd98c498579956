import { Inject } from '@nestjs/common';
import { LLMService } from './llm.service';
import { getLLMToken } from './llm.tokens';

/** Injects the default LLM (`LLMService`) or the instance registered under `name`. */
export const InjectLLM = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getLLMToken(name) : LLMService);
