/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { AwsClientConnection } from '../core/aws-client';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { ROUTER } from '../router/router.module';
import type { LocalStorageSettings } from './connectors/local-storage.connector';
import type { S3StorageSettings } from './connectors/s3.connector';
import { STORAGE_OPERATIONS } from './storage.backend';
import { StorageService } from './storage.service';

/** The Storage subsystem, declared once: registry, tokens, `InjectStorage` and `StorageModule` derive from it. */
export const STORAGE = defineSubsystem({
  subsystem: 'Storage',
  service: StorageService,
  operations: STORAGE_OPERATIONS,
  // the Router serves temporary URLs; without one, createTempUrl is refused
  uses: { account: ACCOUNT.dependency('team resolution'), router: ROUTER.dependency('temporary URLs', true) },
  connectors: {
    LocalStorage: connector<LocalStorageSettings>(
      () => require('./connectors/local-storage.connector').LocalStorageConnector,
    ),
    S3: connector<S3StorageSettings>(() => require('./connectors/s3.connector').S3StorageConnector, {
      sdk: [{ package: '@aws-sdk/client-s3', range: '^3' }],
      // the application's shared AWS client configuration when its own settings name none
      uses: { aws: AwsClientConnection.dependency(true) },
    }),
  },
});

/** Storage connectors by name; add your own with `STORAGE_CONNECTORS.register(name, cls)`. */
export const STORAGE_CONNECTORS = STORAGE.registry;
/** Token of a named Storage instance (`'SreStorage:<name>'`); `default` aliases `StorageService`. */
export const getStorageToken = STORAGE.token;
/** Injects the default Storage (`StorageService`) or the instance registered under `name`. */
export const InjectStorage = STORAGE.inject;

/**
 * `StorageModule.forRoot({ connector: 'LocalStorage', settings: { folder } })` provides
 * `StorageService` (or `getStorageToken(name)` for a named instance). It resolves candidates'
 * teams through the Account subsystem, which the application must provide.
 */
@Module({})
export class StorageModule extends STORAGE.Module {}
