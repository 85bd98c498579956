/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import type { JSONModelsProviderSettings } from './connectors/json-models-provider.connector';
import { MODELS_PROVIDER_OPERATIONS } from './models-provider.backend';
import { ModelsProviderService } from './models-provider.service';

/** The ModelsProvider subsystem, declared once: registry, tokens, `InjectModelsProvider` and `ModelsProviderModule` derive from it. */
export const MODELS_PROVIDER = defineSubsystem({
  subsystem: 'ModelsProvider',
  service: ModelsProviderService,
  operations: MODELS_PROVIDER_OPERATIONS,
  // account resolves the candidate's team and holds its custom models (team settings)
  uses: { account: ACCOUNT.dependency('team resolution and custom models') },
  connectors: {
    JSONModelsProvider: connector<JSONModelsProviderSettings>(
      () => require('./connectors/json-models-provider.connector').JSONModelsProviderConnector,
    ),
  },
});

/** ModelsProvider connectors by name; add your own with `MODELS_PROVIDER_CONNECTORS.register(name, cls)`. */
export const MODELS_PROVIDER_CONNECTORS = MODELS_PROVIDER.registry;
/** Token of a named ModelsProvider instance (`'SreModelsProvider:<name>'`); `default` aliases `ModelsProviderService`. */
export const getModelsProviderToken = MODELS_PROVIDER.token;
/** Injects the default ModelsProvider (`ModelsProviderService`) or the instance registered under `name`. */
export const InjectModelsProvider = MODELS_PROVIDER.inject;

/**
 * `ModelsProviderModule.forRoot({ connector: MyModelsProvider })` provides `ModelsProviderService`
 * (or `getModelsProviderToken(name)` for a named instance). It needs the Account subsystem (global,
 * or imported beside it) for teams and their custom models.
 */
@Module({})
export class ModelsProviderModule extends MODELS_PROVIDER.Module {}
