import { Inject } from '@nestjs/common';
import { ModelsProviderService } from './models-provider.service';
import { getModelsProviderToken } from './models-provider.tokens';

/** Injects the default ModelsProvider (`ModelsProviderService`) or the instance registered under `name`. */
export const InjectModelsProvider = (name?: string): ParameterDecorator & PropertyDecorator =>
  Inject(name && name !== 'default' ? getModelsProviderToken(name) : ModelsProviderService);
