/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { AwsClientConnection } from '../core/aws-client';
import { connector, planned } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import type { JSONFileVaultSettings } from './connectors/json-file-vault.connector';
import type { SecretsManagerVaultSettings } from './connectors/secrets-manager.connector';
import { VAULT_OPERATIONS } from './vault.backend';
import { VaultService } from './vault.service';

/** The Vault subsystem, declared once: registry, tokens, `InjectVault` and `VaultModule` derive from it. */
export const VAULT = defineSubsystem({
  subsystem: 'Vault',
  service: VaultService,
  operations: VAULT_OPERATIONS,
  // every read is scoped to the candidate's team
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    JSONFileVault: connector<JSONFileVaultSettings>(
      () => require('./connectors/json-file-vault.connector').JSONFileVaultConnector,
    ),
    NullVault: connector(() => require('./connectors/null-vault.connector').NullVaultConnector),
    SecretsManager: connector<SecretsManagerVaultSettings>(
      () => require('./connectors/secrets-manager.connector').SecretsManagerVaultConnector,
      {
        sdk: [{ package: '@aws-sdk/client-secrets-manager', range: '^3' }],
        uses: { aws: AwsClientConnection.dependency(true) },
      },
    ),
    HashicorpVault: planned(),
  },
});

/** Vault connectors by name; add your own with `VAULT_CONNECTORS.register(name, cls)`. */
export const VAULT_CONNECTORS = VAULT.registry;
/** Token of a named Vault instance (`'SreVault:<name>'`); `default` aliases `VaultService`. */
export const getVaultToken = VAULT.token;
/** Injects the default Vault (`VaultService`) or the instance registered under `name`. */
export const InjectVault = VAULT.inject;

/**
 * `VaultModule.forRoot({ connector: 'JSONFileVault', settings: { file } })` provides `VaultService`
 * (or `getVaultToken(name)` for a named instance). It needs the Account subsystem to scope users
 * and agents to their team: import AccountModule globally, or use SreModule.
 */
@Module({})
export class VaultModule extends VAULT.Module {}
