import type { Provider } from '@nestjs/common';
import { SreLifecycleHost } from '../lifecycle';
import type { ResolvedOptions } from '../subsystem';
import { RedisConnection } from './redis-connection';
import type { RedisLink } from './redis-link';
import { connectionSettingsOf, namesRedis, type RedisConnectionSettings } from './redis-settings';

/** The instance name of the Redis connection SreModule provides (`RedisConnection.token('sre')`). */
export const SRE_REDIS_CONNECTION = 'sre';

/** The subsystems whose default entry may set up SreModule's Redis connection, in order of precedence. */
const SOURCES = ['Cache', 'NKV'] as const;

/**
 * SreModule's Redis client: made from the first default entry (Cache, then NKV) whose connector is
 * `Redis` and that names a Redis (its settings or `REDIS_HOSTS`), so that NKV `Redis` without
 * settings shares the Cache's client; `undefined` when no entry uses Redis.
 */
export function sreRedisConnectionProvider(
  configToken: string,
  get: (config: never, subsystem: string) => ResolvedOptions,
): Provider {
  return {
    provide: RedisConnection.token(SRE_REDIS_CONNECTION),
    inject: [configToken, SreLifecycleHost],
    useFactory: (config: never, host: SreLifecycleHost): Promise<RedisLink> | undefined => {
      for (const subsystem of SOURCES) {
        const entry = get(config, subsystem);
        if (entry.kind !== 'connector' || entry.connectorName !== 'Redis') continue;
        const settings = entry.settings as Partial<RedisConnectionSettings>;
        if (!namesRedis(settings)) continue;
        return RedisConnection.open(connectionSettingsOf(settings), SRE_REDIS_CONNECTION, host).then((link) => {
          link.keyPrefix = (settings as { prefix?: string }).prefix;
          return link;
        });
      }
      return undefined;
    },
  };
}
