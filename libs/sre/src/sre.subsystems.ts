import type { DynamicModule } from '@nestjs/common';
import type { SubsystemDefinition, SubsystemModuleAsyncOptions } from './core/module-factory';
import type { SubsystemName } from './core/subsystems';
import { VaultModule } from './vault/vault.module';
import { VAULT_DEFINITION } from './vault/vault.registry';
import { AccountModule } from './account/account.module';
import { ACCOUNT_DEFINITION } from './account/account.registry';
import { CacheModule } from './cache/cache.module';
import { CACHE_DEFINITION } from './cache/cache.registry';
import { StorageModule } from './storage/storage.module';
import { STORAGE_DEFINITION } from './storage/storage.registry';
import { CodeModule } from './code/code.module';
import { CODE_DEFINITION } from './code/code.registry';
import { NKVModule } from './nkv/nkv.module';
import { NKV_DEFINITION } from './nkv/nkv.registry';
import { VectorDBModule } from './vectordb/vectordb.module';
import { VECTORDB_DEFINITION } from './vectordb/vectordb.registry';
import { LLMModule } from './llm/llm.module';
import { LLM_DEFINITION } from './llm/llm.registry';
import { ModelsProviderModule } from './models-provider/models-provider.module';
import { MODELS_PROVIDER_DEFINITION } from './models-provider/models-provider.registry';
import { AgentDataModule } from './agent-data/agent-data.module';
import { AGENT_DATA_DEFINITION } from './agent-data/agent-data.registry';
import { ComponentModule } from './component/component.module';
import { COMPONENT_DEFINITION } from './component/component.registry';
import { ManagedVaultModule } from './managed-vault/managed-vault.module';
import { MANAGED_VAULT_DEFINITION } from './managed-vault/managed-vault.registry';
import { LogModule } from './log/log.module';
import { LOG_DEFINITION } from './log/log.registry';
import { RouterModule } from './router/router.module';
import { ROUTER_DEFINITION } from './router/router.registry';

export interface SubsystemEntry {
  module: { forRootAsync(options: SubsystemModuleAsyncOptions): DynamicModule };
  definition: SubsystemDefinition;
}

/** Every subsystem's module and definition, for SreModule. */
export const SRE_SUBSYSTEMS: Readonly<Record<SubsystemName, SubsystemEntry>> = {
  Vault: { module: VaultModule, definition: VAULT_DEFINITION },
  Account: { module: AccountModule, definition: ACCOUNT_DEFINITION },
  Cache: { module: CacheModule, definition: CACHE_DEFINITION },
  Storage: { module: StorageModule, definition: STORAGE_DEFINITION },
  Code: { module: CodeModule, definition: CODE_DEFINITION },
  NKV: { module: NKVModule, definition: NKV_DEFINITION },
  VectorDB: { module: VectorDBModule, definition: VECTORDB_DEFINITION },
  LLM: { module: LLMModule, definition: LLM_DEFINITION },
  ModelsProvider: { module: ModelsProviderModule, definition: MODELS_PROVIDER_DEFINITION },
  AgentData: { module: AgentDataModule, definition: AGENT_DATA_DEFINITION },
  Component: { module: ComponentModule, definition: COMPONENT_DEFINITION },
  ManagedVault: { module: ManagedVaultModule, definition: MANAGED_VAULT_DEFINITION },
  Log: { module: LogModule, definition: LOG_DEFINITION },
  Router: { module: RouterModule, definition: ROUTER_DEFINITION },
};
