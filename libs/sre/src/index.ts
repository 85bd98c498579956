// The public API of nestjs-sre. Nothing inside the library imports this file.

// core
export * from './core/errors';
export { SreConnector, createConnectorContext } from './core/connector';
export type { ConnectorContext, ConnectorState } from './core/connector';
export { ConnectorRegistry } from './core/registry';
export type { ConnectorClass } from './core/registry';
export { createSubsystemModule, checkConnectorOptions, resolveConnectorOptions } from './core/module-factory';
export type {
  ConnectorOptions,
  ConnectorOptionsFactory,
  SubsystemModuleOptions,
  SubsystemModuleAsyncOptions,
  SubsystemModuleStaticOptions,
  SubsystemDefinition,
  ResolvedOptions,
  ResolvedConnectorOptions,
} from './core/module-factory';
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
export { SecureConnector, READ, WRITE, OWNER } from './security/secure-connector';
export { scopeOf, mayClaim } from './security/scope';
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
export type { SreModuleOptions, SreModuleAsyncOptions } from './sre.module';
export { SRE_DEFAULTS, interpolateEnv, loadSreConfig } from './sre.config';
export type { SreConfig, SreEntry } from './sre.config';

// storage
export * from './storage/storage.service';
export * from './storage/storage.module';
export * from './storage/storage.tokens';
export * from './storage/storage.decorators';
export * from './storage/storage.registry';
export * from './storage/connectors/local-storage.connector';

// cache
export * from './cache/cache.service';
export * from './cache/cache.module';
export * from './cache/cache.tokens';
export * from './cache/cache.decorators';
export * from './cache/cache.registry';
export * from './cache/connectors/ram.connector';

// vault
export * from './vault/vault.service';
export * from './vault/vault.module';
export * from './vault/vault.tokens';
export * from './vault/vault.decorators';
export * from './vault/vault.registry';
export * from './vault/connectors/json-file-vault.connector';
export * from './vault/connectors/null-vault.connector';
export { encryptVault, decryptVault, generateVaultKey, VaultCryptoError } from './vault/vault-crypto';

// account
export * from './account/account.service';
export * from './account/account.module';
export * from './account/account.tokens';
export * from './account/account.decorators';
export * from './account/account.registry';
export * from './account/connectors/dummy-account.connector';

// log
export * from './log/log.service';
export * from './log/log.module';
export * from './log/log.tokens';
export * from './log/log.decorators';
export * from './log/log.registry';
export * from './log/connectors/console-log.connector';

// nkv
export * from './nkv/nkv.service';
export * from './nkv/nkv.module';
export * from './nkv/nkv.tokens';
export * from './nkv/nkv.decorators';
export * from './nkv/nkv.registry';

// vectordb
export * from './vectordb/vectordb.service';
export * from './vectordb/vectordb.module';
export * from './vectordb/vectordb.tokens';
export * from './vectordb/vectordb.decorators';
export * from './vectordb/vectordb.registry';

// llm
export * from './llm/llm.service';
export * from './llm/llm.module';
export * from './llm/llm.tokens';
export * from './llm/llm.decorators';
export * from './llm/llm.registry';

// models-provider
export * from './models-provider/models-provider.service';
export * from './models-provider/models-provider.module';
export * from './models-provider/models-provider.tokens';
export * from './models-provider/models-provider.decorators';
export * from './models-provider/models-provider.registry';

// agent-data
export * from './agent-data/agent-data.service';
export * from './agent-data/agent-data.module';
export * from './agent-data/agent-data.tokens';
export * from './agent-data/agent-data.decorators';
export * from './agent-data/agent-data.registry';

// component
export * from './component/component.service';
export * from './component/component.module';
export * from './component/component.tokens';
export * from './component/component.decorators';
export * from './component/component.registry';

// managed-vault
export * from './managed-vault/managed-vault.service';
export * from './managed-vault/managed-vault.module';
export * from './managed-vault/managed-vault.tokens';
export * from './managed-vault/managed-vault.decorators';
export * from './managed-vault/managed-vault.registry';

// router
export * from './router/router.service';
export * from './router/router.module';
export * from './router/router.tokens';
export * from './router/router.decorators';
export * from './router/router.registry';

// code
export * from './code/code.service';
export * from './code/code.module';
export * from './code/code.tokens';
export * from './code/code.decorators';
export * from './code/code.registry';
