import { Inject } from '@nestjs/common';
import { VectorDBService } from './vectordb.service';
import { getVectorDBToken } from './vectordb.tokens';

/** Injects the default VectorDB (`VectorDBService`) or the instance registered under `name`. */
export const InjectVectorDB = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getVectorDBToken(name) : VectorDBService);
