import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { AccountService } from '../account/account.service';
import { CacheService } from '../cache/cache.service';
import { NKVService } from '../nkv/nkv.service';
import { VaultService } from '../vault/vault.service';
import { VectorDBService } from './vectordb.service';
import { getVectorDBOptionsToken, getVectorDBToken } from './vectordb.tokens';

/** VectorDB connectors by name; add your own with `VECTORDB_CONNECTORS.register(name, cls)`. */
export const VECTORDB_CONNECTORS = new ConnectorRegistry<VectorDBService>('VectorDB').plan(
  'RAMVec',
  'Pinecone',
  'Milvus',
);

export const VECTORDB_DEFINITION: SubsystemDefinition = {
  subsystem: 'VectorDB',
  service: VectorDBService,
  registry: VECTORDB_CONNECTORS,
  token: getVectorDBToken,
  optionsToken: getVectorDBOptionsToken,
  // account resolves teams for team-owned namespaces; nkv keeps datasource records and cache the
  // namespace ACLs of the hosted backends (Pinecone, Milvus); vault holds the embedding API keys,
  // resolved per caller (W38)
  dependencies: {
    account: () => AccountService,
    nkv: () => NKVService,
    cache: () => CacheService,
    vault: () => VaultService,
  },
};
