/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { AwsClientConnection } from '../core/aws-client';
import { connector, planned } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { ACCOUNT_OPERATIONS } from './account.backend';
import { AccountService } from './account.service';
import type { AWSAccountSettings } from './connectors/aws-account.connector';
import type { DummyAccountSettings } from './connectors/dummy-account.connector';
import type { JSONFileAccountSettings } from './connectors/json-file-account.connector';

/** The Account subsystem, declared once: registry, tokens, `InjectAccount` and `AccountModule` derive from it. */
export const ACCOUNT = defineSubsystem({
  subsystem: 'Account',
  service: AccountService,
  operations: ACCOUNT_OPERATIONS,
  connectors: {
    DummyAccount: connector<DummyAccountSettings>(
      () => require('./connectors/dummy-account.connector').DummyAccountConnector,
    ),
    JSONFileAccount: connector<JSONFileAccountSettings>(
      () => require('./connectors/json-file-account.connector').JSONFileAccountConnector,
    ),
    // users, teams (groups) and settings (attributes) in an Amazon Cognito user pool
    AWSAccount: connector<AWSAccountSettings>(() => require('./connectors/aws-account.connector').AWSAccountConnector, {
      sdk: [{ package: '@aws-sdk/client-cognito-identity-provider', range: '^3' }],
      uses: { aws: AwsClientConnection.dependency(true) },
    }),
    MySQLAccount: planned(),
  },
});

/** Account connectors by name; add your own with `ACCOUNT_CONNECTORS.register(name, cls)`. */
export const ACCOUNT_CONNECTORS = ACCOUNT.registry;
/** Token of a named Account instance (`'SreAccount:<name>'`); `default` aliases `AccountService`. */
export const getAccountToken = ACCOUNT.token;
/** Injects the default Account (`AccountService`) or the instance registered under `name`. */
export const InjectAccount = ACCOUNT.inject;

/**
 * `AccountModule.forRoot({ connector: 'DummyAccount', settings: { data } })` provides
 * `AccountService` (or `getAccountToken(name)` for a named instance). Make it global (or import it
 * where needed) so that other subsystems resolve candidates' teams through it.
 */
@Module({})
export class AccountModule extends ACCOUNT.Module {}
