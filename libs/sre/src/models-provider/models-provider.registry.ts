import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { ModelsProviderService } from './models-provider.service';
import { getModelsProviderOptionsToken, getModelsProviderToken } from './models-provider.tokens';

/** ModelsProvider connectors by name; add your own with `MODELS_PROVIDER_CONNECTORS.register(name, cls)`. */
export const MODELS_PROVIDER_CONNECTORS = new ConnectorRegistry<ModelsProviderService>('ModelsProvider').plan(
  'JSONModelsProvider',
);

export const MODELS_PROVIDER_DEFINITION: SubsystemDefinition = {
  subsystem: 'ModelsProvider',
  service: ModelsProviderService,
  registry: MODELS_PROVIDER_CONNECTORS,
  token: getModelsProviderToken,
  optionsToken: getModelsProviderOptionsToken,
  // account resolves the candidate's team and holds its custom models (team settings)
  dependencies: { account: () => AccountService },
};
