import { Logger } from '@nestjs/common';
import * as path from 'node:path';
import { SreBackendError, SreError, SreUnavailableError } from './errors';
import { redactSecrets } from './secrets';

/** What the module factory hands a connector besides its settings. */
export interface ConnectorContext {
  /** Subsystem id, e.g. `Storage`. */
  readonly subsystem: string;
  /** Connector name, e.g. `LocalStorage` (registry name, or the class name of a custom connector). */
  readonly connector: string;
  /** Instance name: `default` or the `name` given to `forRoot`. */
  readonly instance: string;
  /** Root for connectors that keep data on disk when their settings name no folder. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Other subsystems this one uses (e.g. `account` for team resolution), injected by the module. */
  readonly deps: Readonly<Record<string, unknown>>;
  /** Secret setting values, scrubbed from messages by `redact`. */
  readonly secrets: readonly string[];
}

export type ConnectorState = 'created' | 'connecting' | 'ready' | 'draining' | 'closed';

/** Builds a context for a connector used outside Nest (scripts, unit tests). */
export function createConnectorContext(
  partial: Partial<ConnectorContext> & Pick<ConnectorContext, 'subsystem' | 'connector'>,
): ConnectorContext {
  return {
    instance: 'default',
    dataDir: path.resolve(process.env.SRE_DATA_DIR ?? '.sre'),
    logger: new Logger(`Sre${partial.subsystem}(${partial.connector})`),
    deps: {},
    secrets: [],
    ...partial,
  };
}

function isContextLike(
  value: unknown,
): value is Partial<ConnectorContext> & Pick<ConnectorContext, 'subsystem' | 'connector'> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<ConnectorContext>;
  return typeof candidate.subsystem === 'string' && typeof candidate.connector === 'string';
}

/**
 * Base of every connector. Subclasses implement `onConnect`/`onDisconnect`/`onPing` as needed; the
 * public lifecycle methods handle state, idempotence and drain. Operations call `ensureReady()`,
 * which is a field comparison once connected.
 */
export abstract class SreConnector {
  protected readonly context: ConnectorContext;
  private lifecycle: ConnectorState = 'created';
  private connecting?: Promise<void>;
  private closing?: Promise<void>;

  constructor(context?: ConnectorContext);
  constructor(settings: unknown, context: ConnectorContext);
  constructor(first?: unknown, second?: unknown) {
    // The module factory calls `new Connector(settings, context)`: a connector without a constructor
    // of its own hands both arguments straight to this one, where `first` is the settings.
    const given = second ?? first;
    if (!isContextLike(given))
      this.context = createConnectorContext({ subsystem: 'Custom', connector: new.target.name });
    else this.context = given.logger && given.deps ? (given as ConnectorContext) : createConnectorContext(given);
  }

  get state(): ConnectorState {
    return this.lifecycle;
  }

  get subsystem(): string {
    return this.context.subsystem;
  }

  get connectorName(): string {
    return this.context.connector;
  }

  get instanceName(): string {
    return this.context.instance;
  }

  protected get logger(): Logger {
    return this.context.logger;
  }

  /** Opens the backend. Concurrent calls share one attempt; a failed attempt may be retried. */
  async connect(): Promise<void> {
    if (this.lifecycle === 'ready') return;
    if (this.lifecycle === 'draining' || this.lifecycle === 'closed') throw this.unavailable('is shut down');
    this.connecting ??= (async () => {
      this.lifecycle = 'connecting';
      try {
        await this.onConnect();
        if (this.lifecycle === 'connecting') this.lifecycle = 'ready';
      } catch (error) {
        if (this.lifecycle === 'connecting') this.lifecycle = 'created';
        throw this.wrap(error, 'connect failed');
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  /** Stops taking new operations; operations already running finish. */
  drain(): void {
    if (this.lifecycle !== 'closed') this.lifecycle = 'draining';
  }

  /** Closes the backend once; later calls return the same promise. */
  disconnect(): Promise<void> {
    this.closing ??= (async () => {
      this.lifecycle = 'draining';
      try {
        await this.onDisconnect();
      } finally {
        this.lifecycle = 'closed';
      }
    })();
    return this.closing;
  }

  /** Resolves when the backend answers; rejects with the reason otherwise. */
  async ping(): Promise<void> {
    if (this.lifecycle === 'closed') throw this.unavailable('is closed');
    await this.onPing();
  }

  protected async onConnect(): Promise<void> {}
  protected async onDisconnect(): Promise<void> {}
  protected async onPing(): Promise<void> {}

  /** Connects on first use (lazyConnect) and refuses work once draining. */
  protected ensureReady(): Promise<void> | void {
    if (this.lifecycle === 'ready') return;
    if (this.lifecycle === 'draining' || this.lifecycle === 'closed') throw this.unavailable('is shutting down');
    return this.connect();
  }

  /** Text with every secret setting value replaced by `***`. */
  protected redact(text: string): string {
    return redactSecrets(text, this.context.secrets);
  }

  protected source(): { subsystem: string; connector: string } {
    return { subsystem: this.context.subsystem, connector: this.context.connector };
  }

  protected unavailable(why: string): SreUnavailableError {
    return new SreUnavailableError(`${this.label()} ${why}`, this.source());
  }

  /** `Storage(LocalStorage)` or `Storage(LocalStorage)[archive]`. */
  protected label(): string {
    const base = `${this.context.subsystem}(${this.context.connector})`;
    return this.context.instance === 'default' ? base : `${base}[${this.context.instance}]`;
  }

  /** Wraps a backend error as an SreError naming this connector, secrets scrubbed, cause kept. */
  protected wrap(error: unknown, doing: string): SreError {
    if (error instanceof SreError) return error;
    // duck-typed: errors from another realm (vm, worker) are not `instanceof Error` here
    const message =
      typeof (error as { message?: unknown })?.message === 'string' ? (error as Error).message : String(error);
    return new SreBackendError(`${this.label()}: ${doing}: ${this.redact(message)}`, this.source(), { cause: error });
  }
}
