/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { RedisConnection } from '../core/redis/redis-connection';
import { AwsClientConnection } from '../core/aws-client';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { CACHE_OPERATIONS } from './cache.backend';
import { CacheService } from './cache.service';
import type { LocalStorageCacheSettings } from './connectors/local-storage.connector';
import type { RAMCacheSettings } from './connectors/ram.connector';
import type { RedisCacheSettings } from './connectors/redis.connector';
import type { S3CacheSettings } from './connectors/s3.connector';

/** The Cache subsystem, declared once: registry, tokens, `InjectCache` and `CacheModule` derive from it. */
export const CACHE = defineSubsystem({
  subsystem: 'Cache',
  service: CacheService,
  operations: CACHE_OPERATIONS,
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    RAM: connector<RAMCacheSettings>(() => require('./connectors/ram.connector').RAMCacheConnector),
    Redis: connector<RedisCacheSettings>(() => require('./connectors/redis.connector').RedisCacheConnector, {
      sdk: [{ package: 'ioredis', range: '^6' }],
      // the application's shared Redis client when there is one (SreModule makes one from these settings)
      uses: { redis: RedisConnection.dependency(true) },
    }),
    LocalStorage: connector<LocalStorageCacheSettings>(
      () => require('./connectors/local-storage.connector').LocalStorageCacheConnector,
    ),
    S3: connector<S3CacheSettings>(() => require('./connectors/s3.connector').S3CacheConnector, {
      sdk: [{ package: '@aws-sdk/client-s3', range: '^3' }],
      uses: { aws: AwsClientConnection.dependency(true) },
    }),
  },
});

/** Cache connectors by name; add your own with `CACHE_CONNECTORS.register(name, cls)`. */
export const CACHE_CONNECTORS = CACHE.registry;
/** Token of a named Cache instance (`'SreCache:sessions'`); `default` aliases `CacheService`. */
export const getCacheToken = CACHE.token;
/** Injects the default Cache (`CacheService`) or the instance registered under `name`. */
export const InjectCache = CACHE.inject;

/**
 * `CacheModule.forRoot({ connector: 'RAM', settings: { maxEntries: 50_000 } })` provides
 * `CacheService` (or `getCacheToken(name)` for a named instance).
 */
@Module({})
export class CacheModule extends CACHE.Module {}
