import { Logger } from '@nestjs/common';
import * as path from 'node:path';
import type { SreErrorSource } from './errors';
import { redactSecrets } from './secrets';

/** A value or a promise of it: in-memory backends answer synchronously to keep hot paths tick-free. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Names one state of a resource (an S3 ETag, a Redis counter, a file's inode and mtime, an object
 * identity). The service reads it with the resource and hands it back on a conditional write; only
 * the backend that produced it compares it. This one token is the concurrency primitive of every
 * read-modify-write (metadata, ACL, TTL, replace-on-write): a backend applies a conditional write
 * only while the resource is still in that state, and otherwise answers `false`.
 */
export type Version = unknown;

/**
 * What every connector may implement besides its subsystem's data operations. The service calls
 * `connect` once at boot (or on first use with `lazyConnect`), `disconnect` once at shutdown and
 * `ping` for health checks; none of them is required.
 */
export interface SreBackend {
  connect?(): Promise<void>;
  disconnect?(): Promise<void>;
  ping?(): Promise<void>;
}

/** What the module hands a connector besides its settings. */
export interface ConnectorContext<D extends object = Record<string, unknown>> {
  /** Subsystem id, e.g. `Storage`. */
  readonly subsystem: string;
  /** Connector name, e.g. `LocalStorage` (registry name, or the class name of a custom connector). */
  readonly connector: string;
  /** Instance name: `default` or the `name` given to `forRoot`. */
  readonly instance: string;
  /** Root for connectors that keep data on disk when their settings name no folder. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** The shared connections and providers this connector declared (`uses` of its registry entry). */
  readonly deps: Readonly<D>;
  /** Secret setting values, scrubbed from messages by `redact`. */
  readonly secrets: readonly string[];
  /**
   * True when nobody asked for this connector: SreModule filled the subsystem with the seed's
   * default because the configuration left it out. A connector stays quiet about optional things
   * it did not find (a vault file) only then.
   */
  readonly implicit?: boolean;
}

/** Builds a context for a connector used outside Nest (scripts, unit tests, contract suites). */
export function createConnectorContext<D extends object = Record<string, unknown>>(
  partial: Partial<ConnectorContext<D>> & Pick<ConnectorContext, 'subsystem' | 'connector'>,
): ConnectorContext<D> {
  return {
    instance: 'default',
    dataDir: path.resolve(process.env.SRE_DATA_DIR ?? '.sre'),
    logger: new Logger(`${partial.subsystem}(${partial.connector})`),
    deps: {} as D,
    secrets: [],
    ...partial,
  };
}

/** `Storage(LocalStorage)` or `Storage(LocalStorage)[archive]`. */
export function labelOf(context: Pick<ConnectorContext, 'subsystem' | 'connector' | 'instance'>): string {
  const base = `${context.subsystem}(${context.connector})`;
  return context.instance === 'default' ? base : `${base}[${context.instance}]`;
}

export function sourceOf(context: Pick<ConnectorContext, 'subsystem' | 'connector'>): SreErrorSource {
  return { subsystem: context.subsystem, connector: context.connector };
}

/** Text with every secret setting value of the context replaced by `***`. */
export function redactWith(context: Pick<ConnectorContext, 'secrets'>, text: string): string {
  return redactSecrets(text, context.secrets);
}
