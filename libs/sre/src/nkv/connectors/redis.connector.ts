import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import type { RedisBatchKind } from '../../core/redis/redis-batch';
import { RedisConnectorLink } from '../../core/redis/redis-connection';
import type { RedisLink } from '../../core/redis/redis-link';
import { RedisConnectionSettings } from '../../core/redis/redis-settings';
import type { NKVBackend, NKVStoredEntry } from '../nkv.backend';

export class RedisNKVSettings extends RedisConnectionSettings {
  /**
   * First part of every key, `<prefix>:cache:team_<team>:<namespace>:<key>`. Default: the Cache
   * `Redis` entry's prefix when NKV shares its connection through SreModule, else `smyth`.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.\-:{}]{1,100}$/, { message: 'must be 1-100 of A-Z a-z 0-9 _ . - : { }' })
  prefix?: string;

  /** Keys asked for per `SCAN` step when a namespace is listed or cleared. */
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(100_000)
  scanCount?: number = 1_000;
}

/** `:` and `%` escaped, so the three names never run into each other (W31); plain names keep the original's keys. */
function escapeName(name: string): string {
  return /[%:]/.test(name) ? name.replace(/%/g, '%25').replace(/:/g, '%3A') : name;
}

function unescapeName(name: string): string {
  return name.includes('%') ? name.replace(/%3A/g, ':').replace(/%25/g, '%') : name;
}

/** A literal for a `SCAN MATCH` pattern: the glob characters escaped (W32's other half). */
function globLiteral(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}

/** Ours are encoded by the service (`j:` JSON, `b:` base64); the original stored strings raw. */
function isEncoded(stored: string): boolean {
  return stored.startsWith('j:') || stored.startsWith('b:');
}

const MGET_BATCH = 500;
const DONE = (): void => undefined;

/** The `GET`s of one tick as one `MGET`. */
const READS: RedisBatchKind<string, string | null> = {
  send: (client, keys) => client.mget(keys as string[]),
  size: (key) => key.length,
};

/** The `SET`s of one tick as one `MSET` (atomic: all or none). */
const WRITES: RedisBatchKind<[string, string], void> = {
  send: (client, pairs) => client.mset(pairs.flat()).then(() => pairs.map(DONE)),
  size: ([key, value]) => key.length + value.length,
};

/**
 * NKV on Redis in the original's layout, `<prefix>:cache:team_<team>:<namespace>:<key>`, over the
 * same client as Cache `Redis` (the shared `RedisConnection`) or one of its own. Each operation is
 * one atomic command (the gets and sets of one tick share one `MGET` / `MSET`), durable once
 * acknowledged with `appendonly`. A namespace is
 * listed and cleared by `SCAN` over its exact, escaped prefix (never `KEYS`), which can never reach
 * another namespace (W32). Names holding `:` or `%` are stored escaped (`%3A`, `%25`); the
 * original's keys for such names were ambiguous and are not listed.
 */
export class RedisNKVConnector implements NKVBackend {
  static readonly connectorName = 'Redis';
  static readonly settingsClass = RedisNKVSettings;

  private readonly redis: RedisConnectorLink;
  private readonly valuePrefix: string;
  private readonly metadataPrefix: string;
  private readonly scanCount: number;

  constructor(
    settings: Partial<RedisNKVSettings> = {},
    context: ConnectorContext<{ redis?: RedisLink }> = createConnectorContext({ subsystem: 'NKV', connector: 'Redis' }),
  ) {
    this.redis = new RedisConnectorLink(Object.assign(new RedisNKVSettings(), settings), context);
    // on the Cache's link (SreModule), the Cache's prefix: the original's NKV used its Redis cache's
    const prefix = settings.prefix ?? this.redis.link.keyPrefix ?? 'smyth';
    this.valuePrefix = `${prefix}:cache:`;
    this.metadataPrefix = `${prefix}:metadata:`;
    this.scanCount = settings.scanCount ?? 1_000;
  }

  /** The client this connector sends through (the Cache's, under SreModule). */
  get link(): RedisLink {
    return this.redis.link;
  }

  connect(): Promise<void> {
    return this.redis.connect();
  }

  disconnect(): Promise<void> {
    return this.redis.close();
  }

  ping(): Promise<void> {
    return this.redis.ping();
  }

  readEntry(team: string, namespace: string, key: string): Promise<string | undefined> {
    const name = this.nameOf(team, namespace, key);
    return this.redis.batch(READS, this.valuePrefix + name, (stored) => {
      if (stored === null) return undefined;
      return isEncoded(stored) ? stored : this.fromOriginal([name], [stored]).then(([value]) => value);
    });
  }

  writeEntry(team: string, namespace: string, key: string, value: string): Promise<void> {
    return this.redis.batch(WRITES, [this.keyOf(team, namespace, key), value], DONE);
  }

  deleteEntry(team: string, namespace: string, key: string): Promise<void> {
    const name = this.nameOf(team, namespace, key);
    // the original kept an ACL beside each entry: it goes with it
    return this.redis.exec((client) => client.del(this.valuePrefix + name, this.metadataPrefix + name), DONE);
  }

  hasEntry(team: string, namespace: string, key: string): Promise<boolean> {
    return this.redis.exec(
      (client) => client.exists(this.keyOf(team, namespace, key)),
      (count) => count === 1,
    );
  }

  async listEntries(team: string, namespace: string): Promise<NKVStoredEntry[]> {
    const base = this.valuePrefix + this.namespaceName(team, namespace) + ':';
    // SCAN may return a key twice: one entry per key
    const entries = new Map<string, NKVStoredEntry>();
    await this.scan(base, async (keys) => {
      for (let i = 0; i < keys.length; i += MGET_BATCH) {
        const batch = keys.slice(i, i + MGET_BATCH);
        const values = await this.redis.exec((client) => client.mget(...batch));
        const raw = batch.flatMap((full, j) => (values[j] === null || isEncoded(values[j]) ? [] : [j]));
        if (raw.length) {
          const names = raw.map((j) => batch[j].slice(this.valuePrefix.length));
          const decoded = await this.fromOriginal(
            names,
            raw.map((j) => values[j]!),
          );
          raw.forEach((j, n) => (values[j] = decoded[n]));
        }
        // a key deleted between SCAN and MGET is simply not listed
        batch.forEach((full, j) => {
          const value = values[j];
          if (value === null) return;
          const key = unescapeName(full.slice(base.length));
          entries.set(key, { key, value });
        });
      }
    });
    return [...entries.values()];
  }

  async deleteNamespace(team: string, namespace: string): Promise<void> {
    const name = this.namespaceName(team, namespace);
    const base = this.valuePrefix + name + ':';
    await this.scan(base, async (keys) => {
      const doomed = keys.flatMap((full) => [full, this.metadataPrefix + full.slice(this.valuePrefix.length)]);
      await this.redis.exec((client) => client.unlink(...doomed));
    });
    // the original's namespace marker and its metadata
    await this.redis.exec((client) => client.unlink(this.valuePrefix + name, this.metadataPrefix + name));
  }

  /**
   * Values not in the encoded form: the original's when its ACL key stands beside them (it wrote
   * one with every entry; this connector never does), as the JSON string it stored; otherwise
   * returned as found, and the service reports them as corrupt.
   */
  private async fromOriginal(names: string[], stored: string[]): Promise<string[]> {
    const marks = await this.redis.exec((client) => client.mget(...names.map((name) => this.metadataPrefix + name)));
    return stored.map((value, i) => (marks[i] === null ? value : `j:${JSON.stringify(value)}`));
  }

  /**
   * Every key under `base` (exactly this namespace: the rest of the key holds no `:`), a `SCAN`
   * step at a time. A key the original wrote with a `:` in its name is skipped: it cannot be told
   * apart from a key of a sub-namespace.
   */
  private async scan(base: string, each: (keys: string[]) => Promise<void>): Promise<void> {
    const pattern = `${globLiteral(base)}*`;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.exec((client) =>
        client.scan(cursor, 'MATCH', pattern, 'COUNT', this.scanCount),
      );
      cursor = next;
      const keys = found.filter((full) => !full.includes(':', base.length));
      if (keys.length) await each(keys);
    } while (cursor !== '0');
  }

  private namespaceName(team: string, namespace: string): string {
    return `team_${escapeName(team)}:${escapeName(namespace)}`;
  }

  private nameOf(team: string, namespace: string, key: string): string {
    return `${this.namespaceName(team, namespace)}:${escapeName(key)}`;
  }

  private keyOf(team: string, namespace: string, key: string): string {
    return this.valuePrefix + this.nameOf(team, namespace, key);
  }
}
