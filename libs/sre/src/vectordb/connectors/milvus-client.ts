/* eslint-disable @typescript-eslint/no-require-imports -- the Milvus SDK loads only when the connector is used */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { SreAuthError, SreBackendError, SreUnavailableError, type SreErrorSource } from '../../core/errors';

export type MilvusSdk = typeof import('@zilliz/milvus2-sdk-node');

/** The SDK, loaded on first use, so that an application without Milvus never needs it installed. */
export function loadMilvusSdk(source: SreErrorSource): MilvusSdk {
  try {
    return require('@zilliz/milvus2-sdk-node') as MilvusSdk;
  } catch {
    throw new SreUnavailableError(
      'install @zilliz/milvus2-sdk-node (npm i @zilliz/milvus2-sdk-node@^3) to use the Milvus connector',
      source,
    );
  }
}

/** How the connector reaches Milvus; `token` or `user` + `password` (never logged, W36). */
export interface MilvusConnection {
  address: string;
  token?: string;
  user?: string;
  password?: string;
  database?: string;
  ssl?: boolean;
  timeoutMs: number;
}

export function createMilvusClient(sdk: MilvusSdk, connection: MilvusConnection): MilvusClient {
  return new sdk.MilvusClient({
    address: connection.address,
    token: connection.token,
    username: connection.user,
    password: connection.password,
    database: connection.database,
    ssl: connection.ssl,
    timeout: connection.timeoutMs,
    // the SDK logs through its own logger; only its errors, which carry no configuration
    logLevel: 'error',
    // otherwise the SDK sends heartbeats (with the address and user) every few seconds
    telemetry: { enabled: false },
    // 50 MB messages, as the original: a large datasource travels in one insert
    channelOptions: {
      'grpc.max_send_message_length': 50 * 1024 * 1024,
      'grpc.max_receive_message_length': 50 * 1024 * 1024,
    },
  });
}

/** The `common.Status` the SDK hands back instead of throwing. */
export interface MilvusStatus {
  error_code?: string | number;
  code?: number | string;
  reason?: string;
}

/** Milvus' codes for "that collection does not exist" (2.3+ `code`, older `error_code`). */
const COLLECTION_MISSING_CODES = new Set([100, 4]);

/** A status object (some SDK calls throw one instead of returning it). */
export function isStatus(value: unknown): value is MilvusStatus {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    ('error_code' in value || 'reason' in value)
  );
}

export function isSuccess(status: MilvusStatus | undefined): boolean {
  if (!status) return false;
  const code = Number(status.code ?? 0);
  return (status.error_code === undefined || status.error_code === 'Success' || status.error_code === 0) && code === 0;
}

export function isCollectionMissing(status: MilvusStatus | undefined): boolean {
  return (
    !!status &&
    (COLLECTION_MISSING_CODES.has(Number(status.code)) ||
      status.error_code === 'CollectionNotExists' ||
      /collection not found|can't find collection|collection .* does not exist/i.test(status.reason ?? ''))
  );
}

/**
 * Turns a status inside a response into an error naming the operation: Milvus' reason, scrubbed of
 * secrets by `redact`, and never the request (which may hold user text).
 */
export class MilvusStatusError extends SreBackendError {
  constructor(
    readonly operation: string,
    readonly status: MilvusStatus,
    redact: (text: string) => string,
    source: SreErrorSource,
  ) {
    super(
      `Milvus ${operation} failed: ${redact(status.reason || String(status.error_code ?? 'no status'))} (code ${String(status.code ?? status.error_code)})`,
      source,
    );
  }
}

/** Wraps what the SDK throws (transport errors, its own checks) without its config or stack. */
export function wrapThrown(
  error: unknown,
  operation: string,
  redact: (text: string) => string,
  source: SreErrorSource,
): Error {
  if (error instanceof SreBackendError || error instanceof SreUnavailableError || error instanceof SreAuthError)
    return error;
  if (isStatus(error)) return new MilvusStatusError(operation, error, redact, source);
  const message = redact(error instanceof Error ? error.message : String(error));
  const code = (error as { code?: unknown })?.code;
  // grpc-js: 16 UNAUTHENTICATED, 7 PERMISSION_DENIED, 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
  if (code === 16 || code === 7)
    return new SreAuthError(`Milvus ${operation}: the server refused the credentials (${message})`, source);
  if (code === 14 || code === 4)
    return new SreUnavailableError(`Milvus ${operation}: the server is unreachable (${message})`, source);
  return new SreBackendError(`Milvus ${operation} failed: ${message}`, source);
}
