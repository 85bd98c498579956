import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { ConnectorContext } from '../backend';
import { labelOf } from '../backend';
import { defineSharedConnection } from '../connection';
import { SreConfigError } from '../errors';
import { collectSecretValues } from '../secrets';
import { RedisBatcher, type RedisBatchKind } from './redis-batch';
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

/**
 * What a Redis connector holds: its link (shared or its own), its label for messages, the
 * lifecycle calls, and `exec`, the hot path of every command.
 */
export class RedisConnectorLink {
  readonly link: RedisLink;
  private readonly owned: boolean;
  private readonly label: string;

  constructor(settings: RedisConnectionSettings, context: ConnectorContext<{ redis?: RedisLink }>) {
    ({ link: this.link, owned: this.owned } = redisLinkFor(settings, context));
    this.label = labelOf(context);
  }

  connect(): Promise<void> {
    return this.link.connect(this.label);
  }

  /** Closes the link if it is this connector's own; a shared one is closed after all its users. */
  async close(): Promise<void> {
    if (this.owned) await this.link.close();
  }

  ping(): Promise<void> {
    return this.link.ping(this.label);
  }

  /**
   * `send` once the connection is ready (at once, no extra tick, when it is), its reply handed to
   * `next`, its failure explained: one promise per command on the hot path. A command the client
   * could not send yet waits for the connection (see `RedisLink.retryUnsent`).
   */
  exec<T, R = T>(send: (client: Redis) => Promise<T>, next?: (reply: T) => R | Promise<R>): Promise<R> {
    // what was batched before this command goes first: calls reach Redis in the order they were made
    this.batcher.flush();
    const sendNow = () => send(this.link.client);
    const unsent = (error: unknown) => this.link.retryUnsent(error, sendNow).then(next, this.fail);
    const waiting = this.link.ready();
    if (waiting === undefined) return sendNow().then(next, unsent) as Promise<R>;
    return waiting.then(() => sendNow().then(next, unsent), this.fail) as Promise<R>;
  }

  /**
   * `item` sent together with the other calls of `kind` made in the same tick (one command for all
   * of them), its own result handed to `next`; failures explained as `exec`'s are.
   */
  batch<I, T, R = T>(kind: RedisBatchKind<I, T>, item: I, next: (reply: T) => R | Promise<R>): Promise<R> {
    return this.batcher.add(kind, item).then(next);
  }

  private readonly batcher = new RedisBatcher(
    (run) => this.exec(run),
    (error) => this.link.explain(error, this.label),
  );

  private readonly fail = (error: unknown): Promise<never> => Promise.reject(this.link.explain(error, this.label));
}
