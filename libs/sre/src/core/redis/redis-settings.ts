import { IsBoolean, IsInt, IsNotEmpty, IsOptional, IsString, Max, Min, ValidateBy } from 'class-validator';
import { createHash } from 'node:crypto';
import { SecretSetting } from '../secrets';

/** One Redis node or Sentinel: `host:port`, `[v6::addr]:port`, or `{ host, port }`. */
export interface RedisHost {
  host: string;
  port: number;
}

/** What `hosts` takes: `'h:p'` (direct), `'h:p,h:p'` or a list (Sentinels, with `name`). */
export type RedisHostsSetting = string | (string | RedisHost)[];

/** TLS towards Redis: `true` for the system CAs, or a CA bundle and the name to verify. */
export interface RedisTlsSetting {
  /** PEM text of the CA(s) that signed the server certificate. */
  ca?: string;
  /** The name the certificate must carry (default: the host connected to). */
  servername?: string;
  /** `false` accepts any certificate: for tests only. */
  rejectUnauthorized?: boolean;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/;
const TLS_KEYS = new Set(['ca', 'servername', 'rejectUnauthorized']);

function parseHost(item: unknown): RedisHost | string {
  if (typeof item === 'string') {
    const match = HOST_PORT.exec(item.trim());
    if (!match) return "must be 'host:port'";
    const port = Number(match[3]);
    if (port < 1 || port > 65_535) return 'has a port outside 1-65535';
    return { host: match[1] ?? match[2], port };
  }
  if (item && typeof item === 'object' && !Array.isArray(item)) {
    const { host, port, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length) return 'takes only host and port';
    if (typeof host !== 'string' || !host) return 'needs a host';
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535) return 'needs a port in 1-65535';
    return { host, port: port as number };
  }
  return "must be 'host:port' or { host, port }";
}

/**
 * The hosts of a `hosts` setting, or the sentence saying why it is invalid. A string holding a
 * comma is a list; the list is the Sentinels of master `name`, a single entry without `name` a
 * direct connection.
 */
export function parseRedisHosts(value: unknown): RedisHost[] | string {
  const items =
    typeof value === 'string' ? value.split(',').filter((part) => part.trim() !== '') : (value as unknown[]);
  if (!Array.isArray(items)) return "must be 'host:port', a comma-separated list of them, or an array";
  if (items.length === 0) return 'must name at least one host';
  const hosts: RedisHost[] = [];
  for (const [i, item] of items.entries()) {
    const parsed = parseHost(item);
    if (typeof parsed === 'string') return `entry ${i + 1} ${parsed}`;
    hosts.push(parsed);
  }
  return hosts;
}

function IsRedisHosts() {
  return ValidateBy({
    name: 'isRedisHosts',
    validator: {
      validate: (value) => typeof parseRedisHosts(value) !== 'string',
      defaultMessage: (args) => String(parseRedisHosts(args?.value)),
    },
  });
}

function IsRedisTls() {
  return ValidateBy({
    name: 'isRedisTls',
    validator: {
      validate: (value) => {
        if (typeof value === 'boolean') return true;
        if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
        const tls = value as Record<string, unknown>;
        return (
          Object.keys(tls).every((key) => TLS_KEYS.has(key)) &&
          (tls.ca === undefined || (typeof tls.ca === 'string' && tls.ca.includes('BEGIN CERTIFICATE'))) &&
          (tls.servername === undefined || (typeof tls.servername === 'string' && tls.servername !== '')) &&
          (tls.rejectUnauthorized === undefined || typeof tls.rejectUnauthorized === 'boolean')
        );
      },
      defaultMessage: () => 'must be true, false, or { ca (PEM text), servername, rejectUnauthorized (boolean) }',
    },
  });
}

/**
 * Where a Redis is and how to talk to it: the seed's `{ hosts, name, password }` and what an
 * operator needs besides (ACL user, TLS, database, time bounds). Fields left out fall back to
 * `REDIS_HOSTS`, `REDIS_MASTER_NAME` and `REDIS_PASSWORD` as in the original.
 */
export class RedisConnectionSettings {
  /** `'127.0.0.1:6379'` connects directly; a list (`'h1:26379,h2:26379'`, or an array even of one) names Sentinels. */
  @IsOptional()
  @IsRedisHosts()
  hosts?: RedisHostsSetting;

  /** The Sentinel master name; required when `hosts` is a list (ignored for a direct connection). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  name?: string;

  /** `AUTH` password (with `username` for a Redis ACL user). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  password?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  username?: string;

  /** Password of the Sentinels themselves, when they require one (`requirepass` on the sentinels). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @SecretSetting()
  sentinelPassword?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  sentinelUsername?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65_535)
  db?: number = 0;

  @IsOptional()
  @IsRedisTls()
  tls?: boolean | RedisTlsSetting;

  /** Most milliseconds a command waits for its reply before it fails. */
  @IsOptional()
  @IsInt()
  @Min(50)
  @Max(600_000)
  commandTimeoutMs?: number = 5_000;

  /**
   * Most milliseconds a command waits for the connection while Redis is unreachable (reconnecting,
   * or a Sentinel failover in progress) before it fails with an "unreachable" error. It is never
   * sent later: a command that failed this way has not been applied.
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  offlineTimeoutMs?: number = 5_000;

  /** Most milliseconds to open the TCP (and TLS) connection. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  connectTimeoutMs?: number = 10_000;

  /**
   * ioredis auto-pipelining: every command waits for the next turn of the event loop and goes out
   * with the others of its tick. Off by default: the connectors' hot calls are already batched
   * (`RedisBatcher`), and a batch is sent the moment it is full, so that Redis works on one while
   * the next fills; auto-pipelining would hold them all back to one write and add a turn to
   * every call (measured in `bench/redis.bench.ts`: 0.7x raw with it, 0.85-1.3x without).
   */
  @IsOptional()
  @IsBoolean()
  autoPipelining?: boolean = false;
}

/** The connection settings, with the original's environment fallbacks applied. */
export interface ResolvedRedisTarget {
  hosts: RedisHost[];
  /** Set: connect through the Sentinels in `hosts` to this master. */
  sentinelMaster?: string;
  settings: RedisConnectionSettings;
  /** Identifies the Redis and the identity used (never the password itself): equal keys may share a client. */
  key: string;
}

const CONNECTION_FIELDS = [
  'hosts',
  'name',
  'password',
  'username',
  'sentinelPassword',
  'sentinelUsername',
  'db',
  'tls',
  'commandTimeoutMs',
  'offlineTimeoutMs',
  'connectTimeoutMs',
  'autoPipelining',
] as const;

/** Whether settings name a Redis themselves (`hosts`), rather than relying on a shared connection. */
export function namesRedis(settings: Partial<RedisConnectionSettings>, env: NodeJS.ProcessEnv = process.env): boolean {
  return settings.hosts !== undefined || !!env.REDIS_HOSTS;
}

/**
 * The Redis that settings name, with `REDIS_HOSTS`, `REDIS_MASTER_NAME` and `REDIS_PASSWORD`
 * filling what they leave out; the sentence explaining what is wrong otherwise (it never repeats a
 * value: the environment may hold a password in the wrong variable).
 */
export function resolveRedisTarget(
  settings: Partial<RedisConnectionSettings>,
  label: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedRedisTarget | string {
  const fromEnv = settings.hosts === undefined;
  const raw = settings.hosts ?? env.REDIS_HOSTS;
  if (raw === undefined || raw === '')
    return `${label}: names no Redis: set hosts ('host:port', or a list of Sentinels with name) or REDIS_HOSTS, or share one: RedisConnection.forRoot(), or with SreModule a Cache entry with Connector 'Redis'`;
  const hosts = parseRedisHosts(raw);
  if (typeof hosts === 'string') return `${label}.hosts${fromEnv ? ' (from REDIS_HOSTS)' : ''}: ${hosts}`;
  // the rule and the seed's: one 'host:port' string is a Redis, a list names Sentinels
  const sentinels = Array.isArray(raw) || raw.includes(',');
  const name = settings.name ?? (env.REDIS_MASTER_NAME || undefined);
  if (sentinels && !name)
    return `${label}.name: is required when hosts is a list (the Sentinels' master name; or REDIS_MASTER_NAME)`;
  const resolved = Object.assign(new RedisConnectionSettings(), pick(settings), {
    hosts,
    name,
    password: settings.password ?? (env.REDIS_PASSWORD || undefined),
  });
  const identity = {
    hosts: hosts.map((h) => `${h.host}:${h.port}`),
    name: sentinels ? name : null,
    db: resolved.db ?? 0,
    username: resolved.username ?? null,
    // a digest: two settings with different passwords must not share a client, and the key is no secret
    password: resolved.password ? createHash('sha256').update(resolved.password).digest('hex').slice(0, 16) : null,
    tls: resolved.tls ?? false,
  };
  return { hosts, sentinelMaster: sentinels ? name : undefined, settings: resolved, key: JSON.stringify(identity) };
}

/** Only the connection fields of a connector's settings (which add e.g. `prefix`). */
export function connectionSettingsOf(settings: Partial<RedisConnectionSettings>): Partial<RedisConnectionSettings> {
  return pick(settings);
}

function pick(settings: Partial<RedisConnectionSettings>): Partial<RedisConnectionSettings> {
  const out: Record<string, unknown> = {};
  for (const field of CONNECTION_FIELDS) if (settings[field] !== undefined) out[field] = settings[field];
  return out;
}

/** `host:port` of the first host, for messages (hosts are not secret). */
export function describeTarget(target: Pick<ResolvedRedisTarget, 'hosts' | 'sentinelMaster'>): string {
  const list = target.hosts.map((h) => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`));
  return target.sentinelMaster ? `master '${target.sentinelMaster}' via Sentinels ${list.join(', ')}` : list[0];
}
