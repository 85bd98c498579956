/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { AwsClientConnection } from '../core/aws-client';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { MANAGED_VAULT_OPERATIONS } from './managed-vault.backend';
import type { SecretManagerManagedVaultSettings } from './connectors/secret-manager-managed-vault.connector';
import { ManagedVaultService } from './managed-vault.service';

/**
 * The ManagedVault subsystem, declared once: registry, tokens, `InjectManagedVault` and
 * `ManagedVaultModule` derive from it. NullManagedVault keeps nothing; SecretManagerManagedVault
 * keeps secrets in AWS Secrets Manager.
 */
export const MANAGED_VAULT = defineSubsystem({
  subsystem: 'ManagedVault',
  service: ManagedVaultService,
  operations: MANAGED_VAULT_OPERATIONS,
  // the team whose namespace every call uses
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    SecretManagerManagedVault: connector<SecretManagerManagedVaultSettings>(
      () => require('./connectors/secret-manager-managed-vault.connector').SecretManagerManagedVaultConnector,
      {
        sdk: [{ package: '@aws-sdk/client-secrets-manager', range: '^3' }],
        uses: { aws: AwsClientConnection.dependency(true) },
      },
    ),
    NullManagedVault: connector(() => require('./connectors/null-managed-vault.connector').NullManagedVaultConnector),
  },
});

/** ManagedVault connectors by name; add your own with `MANAGED_VAULT_CONNECTORS.register(name, cls)`. */
export const MANAGED_VAULT_CONNECTORS = MANAGED_VAULT.registry;
/** Token of a named ManagedVault instance (`'SreManagedVault:<name>'`); `default` aliases `ManagedVaultService`. */
export const getManagedVaultToken = MANAGED_VAULT.token;
/** Injects the default ManagedVault (`ManagedVaultService`) or the instance registered under `name`. */
export const InjectManagedVault = MANAGED_VAULT.inject;

/**
 * `ManagedVaultModule.forRoot({ connector: MyManagedVault })` (a class implementing
 * `ManagedVaultBackend`) provides `ManagedVaultService` (or `getManagedVaultToken(name)` for a named
 * instance). It needs the Account subsystem: import AccountModule globally, or use SreModule.
 */
@Module({})
export class ManagedVaultModule extends MANAGED_VAULT.Module {}
