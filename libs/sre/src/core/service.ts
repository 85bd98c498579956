import type { Logger } from '@nestjs/common';
import { ConnectorContext, createConnectorContext, labelOf, redactWith, sourceOf, type SreBackend } from './backend';
import { SreBackendError, SreError, SreErrorSource, SreUnavailableError } from './errors';

export type ConnectorState = 'created' | 'connecting' | 'ready' | 'draining' | 'closed';

/** What the lifecycle host and the health check need of a service. */
export interface SreLifecycle {
  readonly state: ConnectorState;
  connect(): Promise<void>;
  drain(): void;
  disconnect(): Promise<void>;
  ping(): Promise<void>;
}

/** Whether `value` is a thenable (a backend may answer synchronously or with a promise). */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/**
 * Base of every subsystem service. The service owns its backend (the connector) and everything a
 * connector must not decide: the lifecycle (connect once, refuse work while draining, close once),
 * and the wrapping of backend errors into typed `SreError`s naming subsystem and connector with
 * secrets scrubbed. Subsystem services add validation and the access decision on top; connectors
 * only implement the subsystem's `XBackend` interface, so none of them can change either.
 */
export abstract class SreService<B extends SreBackend = SreBackend> implements SreLifecycle {
  protected readonly backend: B;
  protected readonly context: ConnectorContext;
  private lifecycle: ConnectorState = 'created';
  private connecting?: Promise<void>;
  private closing?: Promise<void>;

  constructor(backend: B, context?: ConnectorContext) {
    this.backend = backend;
    this.context =
      context ??
      createConnectorContext({
        subsystem: new.target.name.replace(/Service$/, ''),
        connector: backend.constructor.name,
      });
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
        await this.backend.connect?.();
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
        await this.backend.disconnect?.();
      } catch (error) {
        throw this.wrap(error, 'disconnect failed');
      } finally {
        this.lifecycle = 'closed';
      }
    })();
    return this.closing;
  }

  /** Resolves when the backend answers; rejects with the reason (secrets scrubbed) otherwise. */
  async ping(): Promise<void> {
    if (this.lifecycle === 'closed') throw this.unavailable('is closed');
    try {
      await this.backend.ping?.();
    } catch (error) {
      throw this.wrap(error, 'ping failed');
    }
  }

  /** Connects on first use (lazyConnect) and refuses work once draining. */
  protected ensureReady(): Promise<void> | void {
    if (this.lifecycle === 'ready') return;
    if (this.lifecycle === 'draining' || this.lifecycle === 'closed') throw this.unavailable('is shutting down');
    return this.connect();
  }

  /**
   * Runs one backend operation: waits for the connection, and turns whatever the backend throws
   * into an `SreError` of this subsystem. A synchronous answer stays synchronous once connected.
   */
  protected call<T>(doing: string, operation: () => T | Promise<T>): T | Promise<T> {
    const pending = this.ensureReady();
    if (pending) return pending.then(() => this.call(doing, operation));
    let result: T | Promise<T>;
    try {
      result = operation();
    } catch (error) {
      throw this.wrap(error, doing);
    }
    return isPromise(result) ? result.catch((error: unknown) => Promise.reject(this.wrap(error, doing))) : result;
  }

  protected redact(text: string): string {
    return redactWith(this.context, text);
  }

  protected source(): SreErrorSource {
    return sourceOf(this.context);
  }

  protected unavailable(why: string): SreUnavailableError {
    return new SreUnavailableError(`${this.label()} ${why}`, this.source());
  }

  /** `Storage(LocalStorage)` or `Storage(LocalStorage)[archive]`. */
  protected label(): string {
    return labelOf(this.context);
  }

  /**
   * Wraps a backend error as an SreError naming this connector, secrets scrubbed, cause kept. A
   * typed error the backend raised keeps its class; one without a source gets this one.
   */
  protected wrap(error: unknown, doing: string): SreError {
    if (error instanceof SreError) {
      if (error.subsystem !== undefined) return error;
      return Object.assign(error, this.source());
    }
    // duck-typed: errors from another realm (vm, worker) are not `instanceof Error` here
    const message =
      typeof (error as { message?: unknown })?.message === 'string' ? (error as Error).message : String(error);
    return new SreBackendError(`${this.label()}: ${doing}: ${this.redact(message)}`, this.source(), { cause: error });
  }
}
