/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { CACHE } from '../cache/cache.module';
import { AwsClientConnection } from '../core/aws-client';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { CODE_OPERATIONS } from './code.backend';
import { CodeService } from './code.service';
import { VAULT } from '../vault/vault.module';
import type { AWSLambdaSettings } from './connectors/aws-lambda.connector';
import type { ECMASandboxSettings } from './connectors/ecma-sandbox.connector';

/** The Code subsystem, declared once: registry, tokens, `InjectCode` and `CodeModule` derive from it. */
export const CODE = defineSubsystem({
  subsystem: 'Code',
  service: CodeService,
  operations: CODE_OPERATIONS,
  // every code unit belongs to a candidate inside its team
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    // one Lambda function per code unit; deployment hashes in the Cache, secrets from the Vault
    AWSLambda: connector<AWSLambdaSettings>(() => require('./connectors/aws-lambda.connector').AWSLambdaConnector, {
      sdk: [{ package: '@aws-sdk/client-lambda', range: '^3' }],
      uses: {
        aws: AwsClientConnection.dependency(true),
        cache: CACHE.dependency('deployment hashes', true),
        vault: VAULT.dependency('the secrets {{KEY(...)}} names', true),
      },
    }),
    // each run in a sandboxed child process of this host: time, memory, no fs/env/network
    ECMASandbox: connector<ECMASandboxSettings>(
      () => require('./connectors/ecma-sandbox.connector').ECMASandboxConnector,
    ),
    // the seed's placeholder, made explicit: every operation fails with a sentence saying what to configure
    DummyConnector: connector(() => require('./connectors/dummy-code.connector').DummyCodeConnector),
  },
});

/** Code connectors by name; add your own with `CODE_CONNECTORS.register(name, cls)`. */
export const CODE_CONNECTORS = CODE.registry;
/** Token of a named Code instance (`'SreCode:<name>'`); `default` aliases `CodeService`. */
export const getCodeToken = CODE.token;
/** Injects the default Code (`CodeService`) or the instance registered under `name`. */
export const InjectCode = CODE.inject;

/**
 * `CodeModule.forRoot({ connector: MyCodeRunner })` provides `CodeService` (or `getCodeToken(name)`
 * for a named instance); `connector` is a registered name or your own class implementing
 * `CodeBackend`. Needs the Account subsystem (global, or imported beside it).
 */
@Module({})
export class CodeModule extends CODE.Module {}
