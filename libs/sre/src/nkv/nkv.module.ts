/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { RedisConnection } from '../core/redis/redis-connection';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import type { LocalStorageNKVSettings } from './connectors/local-storage.connector';
import type { RAMNKVSettings } from './connectors/ram.connector';
import type { RedisNKVSettings } from './connectors/redis.connector';
import { NKV_OPERATIONS } from './nkv.backend';
import { NKVService } from './nkv.service';

/** The NKV subsystem, declared once: registry, tokens, `InjectNKV` and `NKVModule` derive from it. */
export const NKV = defineSubsystem({
  subsystem: 'NKV',
  service: NKVService,
  operations: NKV_OPERATIONS,
  // every namespace belongs to the caller's team: without Account no call could be scoped
  uses: { account: ACCOUNT.dependency('team resolution') },
  // the original's Redis and RAM borrowed a Cache instance found by a hard-coded id (W02): Redis
  // takes the shared Redis connection by injection, RAM and LocalStorage need nothing
  connectors: {
    LocalStorage: connector<LocalStorageNKVSettings>(
      () => require('./connectors/local-storage.connector').LocalStorageNKVConnector,
    ),
    Redis: connector<RedisNKVSettings>(() => require('./connectors/redis.connector').RedisNKVConnector, {
      sdk: [{ package: 'ioredis', range: '^6' }],
      uses: { redis: RedisConnection.dependency(true) },
    }),
    RAM: connector<RAMNKVSettings>(() => require('./connectors/ram.connector').RAMNKVConnector),
  },
});

/** NKV connectors by name; add your own with `NKV_CONNECTORS.register(name, cls)`. */
export const NKV_CONNECTORS = NKV.registry;
/** Token of a named NKV instance (`'SreNKV:<name>'`); `default` aliases `NKVService`. */
export const getNKVToken = NKV.token;
/** Injects the default NKV (`NKVService`) or the instance registered under `name`. */
export const InjectNKV = NKV.inject;

/**
 * `NKVModule.forRoot({ connector })` provides `NKVService` (or `getNKVToken(name)` for a named
 * instance). `connector` is a registered name or your own class implementing `NKVBackend`. The
 * Account subsystem must be available (import AccountModule globally, or use SreModule).
 */
@Module({})
export class NKVModule extends NKV.Module {}
