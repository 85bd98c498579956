/* eslint-disable @typescript-eslint/no-require-imports -- ioredis loads only when a Redis connector is configured */
import type { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { SreBackendError, SreConfigError, SreUnavailableError } from '../errors';
import { redactSecrets } from '../secrets';
import { describeTarget, type RedisTlsSetting, type ResolvedRedisTarget } from './redis-settings';

/** Reconnect delays: quick at first, then every 2 s, forever (an outage ends when Redis is back). */
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000);

function tlsOptions(tls: boolean | RedisTlsSetting | undefined): RedisOptions['tls'] {
  if (!tls) return undefined;
  return tls === true ? {} : { ...tls };
}

/**
 * One ioredis client and what every Redis connector needs around it: connect once for every
 * caller, a bounded wait while Redis is unreachable, errors that say where and why, a graceful
 * `QUIT`. A command is sent only while the connection is ready, so one that failed during an outage
 * was never applied: ioredis' offline queue (which sends commands after they timed out) is off,
 * and a command in flight when the connection drops fails at once instead of being resent.
 */
export class RedisLink {
  readonly client: Redis;
  /**
   * The key prefix of the Cache entry this link was made for (SreModule): NKV `Redis` on the same
   * link uses it when its own settings name none, as the original's NKV used its Redis cache's.
   */
  keyPrefix?: string;
  private connecting?: Promise<void>;
  private closing?: Promise<void>;
  private lastError?: string;
  private downSince?: number;
  private everReady = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly target: ResolvedRedisTarget,
    private readonly logger: Logger,
    private readonly secrets: readonly string[] = [],
  ) {
    const { settings } = target;
    // required here, not at the top: the package loads only for a configured Redis connector
    const IORedis = require('ioredis').Redis as typeof Redis;
    const common: RedisOptions = {
      username: settings.username,
      password: settings.password,
      db: settings.db ?? 0,
      tls: tlsOptions(settings.tls),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // how long a closing socket may take to end before it is destroyed (ioredis' default 2 s
      // keeps a closed application's process alive that long)
      disconnectTimeout: 500,
      // a stalled Redis is detected per connection, not per command: one timer per read of the
      // socket instead of one per command (ioredis' commandTimeout), then the socket is dropped
      // and what waited on it fails
      socketTimeout: settings.commandTimeoutMs ?? 5_000,
      connectTimeout: settings.connectTimeoutMs ?? 10_000,
      enableAutoPipelining: settings.autoPipelining ?? false,
      // before the first ready connection a failure goes to whoever connects (the boot, with the
      // kit's ConnectRetries); after it, reconnecting never stops
      retryStrategy: (attempt) => (this.everReady ? reconnectDelay(attempt) : null),
      // after a failover the old master answers writes with READONLY: reconnect to the new one
      reconnectOnError: (error) => error.message.startsWith('READONLY'),
    };
    this.client = target.sentinelMaster
      ? new IORedis({
          ...common,
          sentinels: target.hosts,
          name: target.sentinelMaster,
          role: 'master',
          sentinelUsername: settings.sentinelUsername,
          sentinelPassword: settings.sentinelPassword,
          enableTLSForSentinelMode: settings.tls ? true : undefined,
          sentinelTLS: tlsOptions(settings.tls) as never,
          // follows a failover as soon as the Sentinels announce it (+switch-master)
          failoverDetector: true,
          sentinelRetryStrategy: (attempt) => (this.everReady ? reconnectDelay(attempt) : null),
        })
      : new IORedis({ ...common, host: target.hosts[0].host, port: target.hosts[0].port });
    this.client.on('error', (error: Error) => {
      const message = this.redact(error.message);
      if (message !== this.lastError) this.logger.warn(`Redis (${describeTarget(target)}): ${message}`);
      this.lastError = message;
    });
    this.client.on('close', () => (this.downSince ??= Date.now()));
    this.client.on('ready', () => {
      this.everReady = true;
      if (this.downSince !== undefined && this.connecting)
        this.logger.log(`Redis (${describeTarget(target)}): reconnected after ${Date.now() - this.downSince} ms`);
      this.downSince = undefined;
      this.lastError = undefined;
      for (const wake of this.waiters) wake();
      this.waiters.clear();
    });
  }

  /** Where this link points, for messages. */
  get description(): string {
    return describeTarget(this.target);
  }

  /**
   * Opens the connection once, for every caller; a refused password or an unreachable Redis
   * rejects, explained and prefixed with `label`.
   */
  connect(label?: string): Promise<void> {
    if (this.closing) return Promise.reject(this.explain(this.closedError(), label));
    this.connecting ??= this.client.connect().then(
      () => undefined,
      (error: unknown) => {
        this.connecting = undefined;
        // the handshake's own error (NOAUTH, ECONNREFUSED) says more than "Connection is closed"
        throw this.lastError && /Connection is closed/.test(String(error)) ? new Error(this.lastError) : error;
      },
    );
    return this.connecting.catch((error: unknown) => Promise.reject(this.explain(error, label)));
  }

  /**
   * After a command failed: when the client refused to send it (the connection had just dropped:
   * it was not applied), it waits for the connection like a command issued while offline, and is
   * sent once more; any other failure is passed on.
   */
  retryUnsent<T>(error: unknown, send: () => Promise<T>): Promise<T> {
    if (!/Stream isn't writeable/.test(String((error as Error)?.message))) return Promise.reject(error);
    return (this.ready(true) ?? Promise.resolve()).then(send);
  }

  /**
   * Nothing when the connection is ready (the hot path: no promise, no tick); otherwise a promise
   * that settles when it is, or rejects after `offlineTimeoutMs` with an "unreachable" error.
   * `dropped`: a command just found the connection unwritable, so "ready" is stale until the next
   * ready connection.
   */
  ready(dropped = false): Promise<void> | undefined {
    if (this.client.status === 'ready' && !(dropped && this.client.stream?.writable === false)) return undefined;
    if (dropped && this.client.status === 'ready') return this.nextReady();
    if (this.closing) return Promise.reject(this.closedError());
    // never connected, or the first attempt failed: this call connects
    if (!this.connecting) return this.connect();
    if (this.client.status === 'end') return Promise.reject(this.closedError());
    return this.nextReady();
  }

  /** The next 'ready' of the client, or an "unreachable" error after `offlineTimeoutMs`. */
  private nextReady(): Promise<void> {
    const timeout = this.target.settings.offlineTimeoutMs ?? 5_000;
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        const down = this.downSince === undefined ? '' : ` for ${Date.now() - this.downSince} ms`;
        const last = this.lastError ? ` (last error: ${this.lastError})` : '';
        reject(new SreUnavailableError(`Redis (${this.description}) is unreachable${down}${last}`));
      }, timeout);
      this.waiters.add(wake);
    });
  }

  /**
   * `fn` once the connection is ready, its failure explained and prefixed with `label` (the
   * connector's `Cache(Redis)`). No extra tick when the connection is ready.
   */
  run<T>(fn: (client: Redis) => Promise<T>, label?: string): Promise<T> {
    const fail = (error: unknown) => Promise.reject(this.explain(error, label));
    const send = () => fn(this.client);
    const go = () => send().catch((error: unknown) => this.retryUnsent(error, send).catch(fail));
    const waiting = this.ready();
    return waiting ? waiting.then(go, fail) : go();
  }

  async ping(label?: string): Promise<void> {
    const answer = await this.run((client) => client.ping(), label);
    if (answer !== 'PONG') throw new SreBackendError(`Redis (${this.description}) answered PING with ${answer}`);
  }

  /** `QUIT` (pending replies arrive first), then the socket is closed; bounded by the command timeout. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const wake of this.waiters) wake();
      if (this.client.status === 'ready') {
        const bound = this.target.settings.commandTimeoutMs ?? 5_000;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.client.quit().catch(() => undefined),
          new Promise((resolve) => (timer = setTimeout(resolve, bound))),
        ]);
        clearTimeout(timer);
      }
      this.client.disconnect();
    })();
    return this.closing;
  }

  /**
   * The error to throw for a failed command or connect: who (`label`), where, and why, without
   * secrets. Refused credentials are a configuration error; an unreachable or silent Redis is
   * "unavailable" (HTTP 503 through SreExceptionFilter).
   */
  explain(error: unknown, label?: string): Error {
    const who = label ? `${label}: ` : '';
    if (error instanceof SreUnavailableError && error.message.startsWith(who)) return error;
    if (error instanceof SreConfigError) return label ? new SreConfigError(error.problems.map((p) => who + p)) : error;
    if (error instanceof SreUnavailableError) return new SreUnavailableError(who + error.message);
    const message = this.redact(String((error as Error)?.message ?? error));
    const where = `${who}Redis (${this.description})`;
    if (/^(WRONGPASS|NOAUTH)/.test(message) || /invalid (username-)?password/i.test(message))
      return new SreConfigError([`${where} refused the credentials: ${message}`]);
    // a stalled socket is destroyed and what waited on it fails as "max retries" (maxRetriesPerRequest 0)
    const stalled = /max retries per request/i.test(message) && this.lastError?.startsWith('Socket timeout');
    if (message === 'Command timed out' || message.startsWith('Socket timeout') || stalled)
      return new SreUnavailableError(
        `${where} did not answer within ${this.target.settings.commandTimeoutMs ?? 5_000} ms (commandTimeoutMs)`,
      );
    if (/Connection is closed|max retries per request|Stream isn't writeable/i.test(message))
      return new SreUnavailableError(
        `${where}: the connection dropped before the reply (the command may or may not have been applied)`,
      );
    if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|All sentinels are unreachable/.test(message))
      return new SreUnavailableError(`${where} is unreachable: ${message}`);
    return new SreBackendError(`${where}: ${message}`, {}, { cause: error });
  }

  private closedError(): SreUnavailableError {
    return new SreUnavailableError(`Redis (${this.description}): the connection is closed`);
  }

  private redact(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}
