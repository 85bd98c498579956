import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { redactWith, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import {
  createMilvusClient,
  isCollectionMissing,
  isSuccess,
  loadMilvusSdk,
  MilvusStatusError,
  wrapThrown,
  type MilvusConnection,
  type MilvusSdk,
  type MilvusStatus,
} from './milvus-client';

/** The collection is gone (dropped meanwhile, or never there): every operation answers "nothing". */
export class CollectionGone extends Error {}

/** Calls before `connect` (or after `disconnect`): a sentence, not a TypeError. */
class CollectionGoneOrClosed extends SreInvalidInputError {
  constructor(source: SreErrorSource) {
    super('the Milvus connector is not connected (call connect() first)', source);
  }
}

/**
 * The connector's one client and the two ways to call it, so that every response's status is
 * checked in one place (the SDK answers failures, it does not throw them).
 */
export class MilvusSession {
  private client?: MilvusClient;
  private sdk?: MilvusSdk;
  readonly source: SreErrorSource;

  constructor(private readonly context: ConnectorContext) {
    this.source = sourceOf(context);
  }

  readonly redact = (text: string): string => redactWith(this.context, text);

  get connected(): boolean {
    return !!this.client;
  }

  async open(connection: MilvusConnection, probeCollection: string): Promise<void> {
    this.sdk = loadMilvusSdk(this.source);
    const client = createMilvusClient(this.sdk, connection);
    try {
      await client.connectPromise;
      // Connect succeeds without checking credentials on some servers: a real call does
      const probe = await client.hasCollection({ collection_name: probeCollection });
      if (!isSuccess(probe.status)) throw new MilvusStatusError('connect', probe.status, this.redact, this.source);
    } catch (error) {
      await client.closeConnection().catch(() => undefined);
      throw wrapThrown(error, 'connect', this.redact, this.source);
    }
    this.client = client;
  }

  /** Forgets the client at once, so that no call starts on it while it closes. */
  close(): Promise<unknown> | undefined {
    const client = this.client;
    this.client = undefined;
    return client?.closeConnection();
  }

  requireSdk(): MilvusSdk {
    if (!this.sdk || !this.client) throw new CollectionGoneOrClosed(this.source);
    return this.sdk;
  }

  /** A call whose answer is returned as it is (the caller decides on its status). */
  async attempt<T>(operation: string, run: (client: MilvusClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client) throw new CollectionGoneOrClosed(this.source);
    try {
      return await run(client);
    } catch (error) {
      throw wrapThrown(error, operation, this.redact, this.source);
    }
  }

  /** A call whose status must be success; a missing collection becomes `CollectionGone`. */
  async call<T>(
    operation: string,
    run: (client: MilvusClient) => Promise<T>,
    statusOf: (response: T) => MilvusStatus | undefined,
  ): Promise<T> {
    const response = await this.attempt(operation, run);
    const status = statusOf(response);
    if (isSuccess(status)) return response;
    if (isCollectionMissing(status)) throw new CollectionGone();
    throw new MilvusStatusError(operation, status ?? {}, this.redact, this.source);
  }
}

/** Runs `work`, answering `gone` when the collection vanishes under it. */
export async function unlessGone<T, G>(gone: G, work: () => Promise<T>): Promise<T | G> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CollectionGone) return gone;
    throw error;
  }
}
