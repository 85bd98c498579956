import type { Logger } from '@nestjs/common';
import type { ConnectorContext } from '../backend';
import { labelOf } from '../backend';
import { defineSharedConnection } from '../connection';
import { SreConfigError } from '../errors';
import { collectSecretValues } from '../secrets';
import { RedisLink } from './redis-link';
import { RedisConnectionSettings, resolveRedisTarget } from './redis-settings';

function openLink(settings: RedisConnectionSettings, label: string, logger: Logger): RedisLink {
  const target = resolveRedisTarget(settings, label);
  if (typeof target === 'string') throw new SreConfigError([target]);
  return new RedisLink(target, logger, collectSecretValues(settings));
}

/**
 * One Redis client for every Redis connector of the application (Cache `Redis`, NKV `Redis`):
 * `RedisConnection.forRoot({ settings: { hosts: 'localhost:6379' } })`. SreModule provides one
 * itself from the Cache (or NKV) entry's settings. The client connects when its first connector
 * does, and is closed (`QUIT`) after the last one.
 */
export const RedisConnection = defineSharedConnection<RedisLink, RedisConnectionSettings>({
  name: 'Redis',
  settingsClass: RedisConnectionSettings,
  create: (settings, logger) => openLink(settings, 'RedisConnection.settings', logger),
  close: (link) => link.close(),
  ping: (link) => link.ping(),
});

/**
 * The link a Redis connector uses, and whether it owns it: the shared connection when the
 * connector's settings name no Redis or the same one (same hosts, master, user, password, db,
 * TLS); otherwise a client of its own, made from its settings (with the original's `REDIS_*`
 * environment fallbacks).
 */
export function redisLinkFor(
  settings: RedisConnectionSettings,
  context: ConnectorContext<{ redis?: RedisLink }>,
): { link: RedisLink; owned: boolean } {
  const shared = context.deps.redis;
  const label = `${labelOf(context)}.settings`;
  if (settings.hosts === undefined && shared) return { link: shared, owned: false };
  const target = resolveRedisTarget(settings, label);
  if (typeof target === 'string') throw new SreConfigError([target]);
  if (shared && shared.target.key === target.key) return { link: shared, owned: false };
  return { link: openLink(settings, label, context.logger), owned: true };
}
