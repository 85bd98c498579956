// The public API of nestjs-sre. Nothing inside the library imports this file.

// core: the connector kit
export * from './core/errors';
export { createConnectorContext, labelOf, sourceOf, redactWith } from './core/backend';
export type { SreBackend, ConnectorContext, MaybePromise, Version } from './core/backend';
export { SreService } from './core/service';
export type { ConnectorState, SreLifecycle } from './core/service';
export { ConnectorRegistry, connector, planned, isConnectorName } from './core/registry';
export type {
  BackendClass,
  BackendFactory,
  ConnectorEntry,
  ConnectorLookup,
  Dependency,
  SdkRequirement,
  PlannedSettingsOf,
} from './core/registry';
export { Subsystem, defineSubsystem, checkConnectorOptions, resolveConnectorOptions } from './core/subsystem';
export type {
  BackendBuilder,
  CheckOptions,
  ResolvedOptions,
  ResolvedConnectorOptions,
  UnavailableOptions,
  ServiceClass,
  SettingsMap,
  SubsystemDefinition,
  SubsystemModuleClass,
  SubsystemSpec,
} from './core/subsystem';
export type {
  CommonConnectorOptions,
  ConnectorOptions,
  ConnectorOptionsFactory,
  CustomConnectorOptions,
  NamedConnectorOptions,
  PlannedSettings,
  SettingsInput,
  SubsystemModuleAsyncOptions,
  SubsystemModuleOptions,
  SubsystemModuleStaticOptions,
} from './core/options';
export { defineSharedConnection, SreSharedConnectionModule } from './core/connection';
export type {
  SharedConnection,
  SharedConnectionAsyncOptions,
  SharedConnectionOptions,
  SharedConnectionSpec,
} from './core/connection';
export { AwsClientConnection, AwsClientSettings, toAwsClientConfig } from './core/aws-client';
export type { AwsClientConfig } from './core/aws-client';
// ioredis itself loads only when a Redis connector is built
export { RedisConnection } from './core/redis/redis-connection';
export { RedisConnectionSettings } from './core/redis/redis-settings';
export type { RedisHost, RedisHostsSetting, RedisTlsSetting } from './core/redis/redis-settings';
export type { RedisLink } from './core/redis/redis-link';
export * from './core/fs';
export { validateSettings } from './core/settings';
export { SecretSetting, redactSecrets } from './core/secrets';
export { assertResourceId, assertKey } from './core/resource-id';
export { resolveDataDir } from './core/data-dir';
export { SreLifecycleHost } from './core/lifecycle';
export type { TrackedConnector } from './core/lifecycle';
export { SreHealthService } from './core/health.service';
export type { SreConnectorHealth } from './core/health.service';
export { SreCoreModule } from './core/core.module';
export { SreExceptionFilter, httpStatusOf } from './core/sre-exception.filter';
export { SUBSYSTEMS } from './core/subsystems';
export type { SubsystemName } from './core/subsystems';

// security
export * from './security/access-candidate';
export * from './security/acl';
export { hashOwnerId } from './security/hash';
export type { HashAlgorithm } from './security/hash';
export { SecureService, READ, WRITE, OWNER, MAX_WRITE_ATTEMPTS } from './security/secure-service';
export type { SecureServiceDeps } from './security/secure-service';
export { scopeOf, mayClaim, isScopeFolder, assertNotScopeFolder } from './security/scope';
export type { ResourceScope } from './security/scope';
export type { TeamResolver } from './security/team-resolver';

// SreModule and configuration
export {
  SreModule,
  SreConfigHolderModule,
  ResolvedSreConfig,
  resolveSreConfig,
  SRE_RESOLVED_CONFIG,
} from './sre.module';
export type { SreConfigFactory, SreModuleOptions, SreModuleAsyncOptions } from './sre.module';
export { SRE_DEFAULTS, interpolateEnv, isFromEnvironment, loadSreConfig } from './sre.config';
export type { SreConfig, SreEntry, SreEntryCommon, SreEntryFor, SreLooseConfig } from './sre.config';

// storage
export * from './storage/storage.backend';
export * from './storage/storage.service';
export * from './storage/storage.module';
export * from './storage/connectors/local-storage.connector';

// cache
export * from './cache/cache.backend';
export * from './cache/cache.service';
export * from './cache/cache.module';
export * from './cache/connectors/ram.connector';
export * from './cache/connectors/local-storage.connector';
export { RedisCacheConnector, RedisCacheSettings } from './cache/connectors/redis.connector';

// vault
export * from './vault/vault.backend';
export * from './vault/vault.service';
export * from './vault/vault.module';
export * from './vault/connectors/json-file-vault.connector';
export * from './vault/connectors/null-vault.connector';
export { encryptVault, decryptVault, generateVaultKey, VaultCryptoError } from './vault/vault-crypto';

// account
export * from './account/account.backend';
export * from './account/account.service';
export * from './account/account.module';
export * from './account/connectors/dummy-account.connector';
export * from './account/connectors/json-file-account.connector';

// log
export * from './log/log.backend';
export * from './log/log.redactor';
export * from './log/log.service';
export * from './log/log.module';
export * from './log/connectors/console-log.connector';

// nkv
export * from './nkv/nkv.backend';
export * from './nkv/nkv.service';
export * from './nkv/nkv.module';
export * from './nkv/connectors/ram.connector';
export * from './nkv/connectors/local-storage.connector';
export { RedisNKVConnector, RedisNKVSettings } from './nkv/connectors/redis.connector';

// vectordb
export * from './vectordb/vectordb.backend';
export * from './vectordb/vectordb.service';
export * from './vectordb/vectordb.module';
export { RAMVecConnector, RAMVecSettings } from './vectordb/connectors/ramvec.connector';
export { RAMVecSnapshotSettings } from './vectordb/connectors/ramvec-snapshot';
// the Pinecone and Milvus SDKs load only when their connector connects
export { PineconeConnector, PineconeSettings } from './vectordb/connectors/pinecone.connector';
export { MilvusConnector, MilvusCredentials, MilvusSettings } from './vectordb/connectors/milvus.connector';
export {
  createEmbedder,
  embedInBatches,
  EmbeddingsSettings,
  GoogleEmbedder,
  LocalEmbedder,
  OpenAIEmbedder,
} from './vectordb/embeddings/embedder';
export type { BatchPolicy, Embedder, EmbeddingsProvider } from './vectordb/embeddings/embedder';
export { cosineSimilarity } from './vectordb/embeddings/similarity';
export { checkMetadataFilter, matchesMetadataFilter } from './vectordb/metadata-filter';
export { chunkText } from './vectordb/embeddings/chunker';

// llm
export * from './llm/llm.backend';
export * from './llm/llm-credentials';
export * from './llm/llm.service';
export * from './llm/llm.module';
export { EchoConnector } from './llm/connectors/echo.connector';
export { ProviderRouterConnector, ProviderRouterSettings } from './llm/connectors/provider-router.connector';
export { OPENAI_PRESETS, type OpenAIPreset, type OpenAIPresetInfo } from './llm/connectors/openai-presets';
export { providerError, requireApiKey, retryAfterMsOf, statusOf, isRetryable } from './llm/llm-errors';
export { toEmitter, toObservable } from './llm/llm-stream';
export { checkStructured, structuredInstruction, usageEventOf } from './llm/llm-usage';
export { extractJson, schemaProblems } from './llm/json-schema';
export { DEFAULT_LLM_RETRY, type RetryOptions as LLMRetryOptions } from './llm/llm-call';

// models-provider
export * from './models-provider/models-provider.backend';
export * from './models-provider/models-loader';
export * from './models-provider/models-provider.service';
export * from './models-provider/models-provider.module';
export * from './models-provider/connectors/json-models-provider.connector';

// agent-data
export * from './agent-data/agent-data.backend';
export * from './agent-data/agent-openapi';
export * from './agent-data/agent-data.service';
export * from './agent-data/agent-data.module';
export * from './agent-data/connectors/null-agent-data.connector';
export * from './agent-data/connectors/local-agent-data.connector';
export * from './agent-data/connectors/cli-agent-data.connector';

// component
export * from './component/component.backend';
export * from './component/component.service';
export * from './component/component.module';
export * from './component/component.decorator';
export * from './component/connectors/local-component.connector';

// managed-vault
export * from './managed-vault/managed-vault.backend';
export * from './managed-vault/managed-vault.service';
export * from './managed-vault/managed-vault.module';
export * from './managed-vault/connectors/null-managed-vault.connector';

// router
export * from './router/router.backend';
export * from './router/router.service';
export * from './router/router.module';
export * from './router/connectors/null-router.connector';
export * from './router/connectors/express-router.connector';

// code
export * from './code/code.backend';
export * from './code/code.service';
export * from './code/code.module';
export * from './code/connectors/dummy-code.connector';
export * from './code/connectors/ecma-sandbox.connector';

// The subsystem modules under clash-free names: `CacheModule` is also @nestjs/cache-manager's and
// `RouterModule` @nestjs/core's. Each is the same class as its short name, which stays exported.
export { AccountModule as SreAccountModule } from './account/account.module';
export { AgentDataModule as SreAgentDataModule } from './agent-data/agent-data.module';
export { CacheModule as SreCacheModule } from './cache/cache.module';
export { CodeModule as SreCodeModule } from './code/code.module';
export { ComponentModule as SreComponentModule } from './component/component.module';
export { LLMModule as SreLLMModule } from './llm/llm.module';
export { LogModule as SreLogModule } from './log/log.module';
export { ManagedVaultModule as SreManagedVaultModule } from './managed-vault/managed-vault.module';
export { ModelsProviderModule as SreModelsProviderModule } from './models-provider/models-provider.module';
export { NKVModule as SreNKVModule } from './nkv/nkv.module';
export { RouterModule as SreRouterModule } from './router/router.module';
export { StorageModule as SreStorageModule } from './storage/storage.module';
export { VaultModule as SreVaultModule } from './vault/vault.module';
export { VectorDBModule as SreVectorDBModule } from './vectordb/vectordb.module';
