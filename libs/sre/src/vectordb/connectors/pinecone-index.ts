/* eslint-disable @typescript-eslint/no-require-imports -- the Pinecone SDK loads on connect, not at boot */
import type { Logger } from '@nestjs/common';
import type * as PineconeSdk from '@pinecone-database/pinecone';
import { SreConfigError, SreUnavailableError, type SreErrorSource } from '../../core/errors';
import type { Embedder } from '../embeddings/embedder';
import type { VectorNamespace } from '../vectordb.backend';
import type { PineconeCalls } from './pinecone-call';
import { retryingFetch } from './pinecone-fetch';
import type { PineconeVectorMetadata } from './pinecone-metadata';
import { pineconeNamespaceOf, type PineconeRecords } from './pinecone-records';
import type { PineconeSettings } from './pinecone-settings';

export type PineconeIndex = PineconeSdk.Index<PineconeVectorMetadata>;
export type PineconeVectorRecord = PineconeSdk.PineconeRecord<PineconeVectorMetadata>;

export interface PineconeIndexContext {
  calls: PineconeCalls;
  logger: Logger;
  source: SreErrorSource;
  /** `Subsystem(Connector).settings`, the prefix of every settings problem. */
  label: string;
  dimensions: number;
}

/**
 * Loads the SDK, finds (or creates) the index and checks that its dimensions match the
 * embeddings': a mismatch is a settings problem, found at boot rather than on the first write.
 */
export async function openPineconeIndex(
  settings: PineconeSettings,
  context: PineconeIndexContext,
): Promise<PineconeIndex> {
  const { calls, logger, label, dimensions } = context;
  const apiKey = settings.apiKey ?? process.env.PINECONE_API_KEY;
  if (!apiKey) throw new SreConfigError([`${label}.apiKey: set it, or the environment variable PINECONE_API_KEY`]);
  calls.addSecret(apiKey);
  let sdk: typeof PineconeSdk;
  try {
    sdk = require('@pinecone-database/pinecone') as typeof PineconeSdk;
  } catch {
    throw new SreUnavailableError(
      'Pinecone: install @pinecone-database/pinecone (npm i @pinecone-database/pinecone@^8)',
      context.source,
    );
  }
  const client = new sdk.Pinecone({
    apiKey,
    ...(settings.controllerHostUrl ? { controllerHostUrl: settings.controllerHostUrl } : {}),
    maxRetries: 0,
    fetchApi: retryingFetch(
      {
        retries: settings.maxRetries ?? 3,
        initialDelayMs: settings.retryDelayMs ?? 250,
        maxDelayMs: 20_000,
        timeoutMs: settings.timeoutMs ?? 30_000,
      },
      (status, attempt, delay) =>
        logger.warn(`Pinecone answered ${status}; retry ${attempt} in ${Math.round(delay)} ms`),
    ),
  });
  const name = settings.indexName;
  let model = await calls.call(`describing index '${name}'`, () => client.describeIndex(name), true);
  if (!model && settings.createIndexIfMissing) {
    await calls.call(`creating index '${name}'`, () =>
      client.createIndex({
        name,
        dimension: dimensions,
        metric: 'cosine',
        spec: {
          serverless: {
            cloud: (settings.cloud ?? 'aws') as 'aws',
            region: settings.region ?? 'us-east-1',
          },
        },
        waitUntilReady: true,
        suppressConflicts: true,
      }),
    );
    model = await calls.call(`describing index '${name}'`, () => client.describeIndex(name));
  }
  if (!model)
    throw new SreConfigError([
      `${label}.indexName: Pinecone has no index '${name}' (create it, or set createIndexIfMissing)`,
    ]);
  if (model.dimension !== undefined && model.dimension !== dimensions)
    throw new SreConfigError([
      `${label}.embeddings.dimensions: index '${name}' holds ${model.dimension}-dimensional vectors, the embeddings make ${dimensions}`,
    ]);
  // the described host, not the index name: the SDK caches name -> host per API key in a
  // process-wide map, which a second client of the same key would share
  return client.index<PineconeVectorMetadata>({ host: model.host });
}

/** The index scoped to the Pinecone namespace of a VectorDB namespace. */
export function namespaceIndex(index: PineconeIndex, namespace: VectorNamespace): PineconeIndex {
  return index.namespace(pineconeNamespaceOf(namespace.key));
}

/** What search and datasource writes work with once the connector is connected. */
export interface PineconeConnection {
  calls: PineconeCalls;
  records: PineconeRecords;
  embedder: Embedder;
  settings: PineconeSettings;
  logger: Logger;
  source: SreErrorSource;
  /** Asked on each use, so that a disconnect during a slow embedding fails the next request as not connected. */
  scoped(namespace: VectorNamespace): PineconeIndex;
}
