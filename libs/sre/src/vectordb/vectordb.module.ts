/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { ACCOUNT } from '../account/account.module';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { NKV } from '../nkv/nkv.module';
import { VAULT } from '../vault/vault.module';
import type { MilvusSettings } from './connectors/milvus.connector';
import type { PineconeSettings } from './connectors/pinecone.connector';
import type { RAMVecSettings } from './connectors/ramvec.connector';
import { VECTORDB_OPERATIONS } from './vectordb.backend';
import { VectorDBService } from './vectordb.service';

// The embedders resolve API keys for each namespace's owner (W38) through the caller's vault; a
// connector whose settings carry credentials, or that uses the platform's environment key, works
// without one.
const embeddingKeys = VAULT.dependency('embedding API keys, resolved per caller', true);

/** The VectorDB subsystem, declared once: registry, tokens, `InjectVectorDB` and `VectorDBModule` derive from it. */
export const VECTORDB = defineSubsystem({
  subsystem: 'VectorDB',
  service: VectorDBService,
  operations: VECTORDB_OPERATIONS,
  // team-owned namespaces admit the team's members: deciding that needs the caller's team
  uses: { account: ACCOUNT.dependency('team resolution') },
  connectors: {
    // the embeddings SDK (openai) loads when a text is first embedded, not at boot
    RAMVec: connector<RAMVecSettings>(() => require('./connectors/ramvec.connector').RAMVecConnector, {
      uses: { vault: embeddingKeys },
    }),
    // Pinecone keeps vectors only: its namespace records, their ACLs and the datasource records live
    // in NKV, which is durable (a Cache entry may expire or be evicted, and an ACL must not)
    Pinecone: connector<PineconeSettings>(() => require('./connectors/pinecone.connector').PineconeConnector, {
      sdk: [{ package: '@pinecone-database/pinecone', range: '^8' }],
      uses: {
        nkv: NKV.dependency('namespace and datasource records'),
        vault: embeddingKeys,
      },
    }),
    // a collection per namespace holds its record and ACL (in a collection property, so both appear
    // and vanish with it); datasource records go to NKV when the application has one, else into the
    // collection itself, so no Cache is needed (an ACL must not expire or be evicted)
    Milvus: connector<MilvusSettings>(() => require('./connectors/milvus.connector').MilvusConnector, {
      sdk: [{ package: '@zilliz/milvus2-sdk-node', range: '^3' }],
      uses: {
        nkv: NKV.dependency('datasource records', true),
        vault: embeddingKeys,
      },
    }),
  },
});

/** VectorDB connectors by name; add your own with `VECTORDB_CONNECTORS.register(name, cls)`. */
export const VECTORDB_CONNECTORS = VECTORDB.registry;
/** Token of a named VectorDB instance (`'SreVectorDB:<name>'`); `default` aliases `VectorDBService`. */
export const getVectorDBToken = VECTORDB.token;
/** Injects the default VectorDB (`VectorDBService`) or the instance registered under `name`. */
export const InjectVectorDB = VECTORDB.inject;

/**
 * `VectorDBModule.forRoot({ connector })` provides `VectorDBService` (or `getVectorDBToken(name)`
 * for a named instance). `connector` is a registered name or your own class implementing
 * `VectorDBBackend`. The Account subsystem must be available (import AccountModule globally, or use
 * SreModule).
 */
@Module({})
export class VectorDBModule extends VECTORDB.Module {}
