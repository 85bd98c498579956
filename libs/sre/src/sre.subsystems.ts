import type { SubsystemName } from './core/subsystems';
import type { SubsystemDefinition } from './core/subsystem';
import { VAULT, VaultModule } from './vault/vault.module';
import { ACCOUNT, AccountModule } from './account/account.module';
import { CACHE, CacheModule } from './cache/cache.module';
import { STORAGE, StorageModule } from './storage/storage.module';
import { CODE, CodeModule } from './code/code.module';
import { NKV, NKVModule } from './nkv/nkv.module';
import { VECTORDB, VectorDBModule } from './vectordb/vectordb.module';
import { LLM, LLMModule } from './llm/llm.module';
import { MODELS_PROVIDER, ModelsProviderModule } from './models-provider/models-provider.module';
import { AGENT_DATA, AgentDataModule } from './agent-data/agent-data.module';
import { COMPONENT, ComponentModule } from './component/component.module';
import { MANAGED_VAULT, ManagedVaultModule } from './managed-vault/managed-vault.module';
import { LOG, LogModule } from './log/log.module';
import { ROUTER, RouterModule } from './router/router.module';

export interface SubsystemEntry {
  /** The module class users import (`StorageModule`), built from `definition`. */
  module: SubsystemDefinition['Module'];
  definition: SubsystemDefinition;
}

/** Every subsystem's module and definition, for SreModule and SreTestingModule. */
export const SRE_SUBSYSTEMS: Readonly<Record<SubsystemName, SubsystemEntry>> = {
  Vault: { module: VaultModule, definition: VAULT },
  Account: { module: AccountModule, definition: ACCOUNT },
  Cache: { module: CacheModule, definition: CACHE },
  Storage: { module: StorageModule, definition: STORAGE },
  Code: { module: CodeModule, definition: CODE },
  NKV: { module: NKVModule, definition: NKV },
  VectorDB: { module: VectorDBModule, definition: VECTORDB },
  LLM: { module: LLMModule, definition: LLM },
  ModelsProvider: { module: ModelsProviderModule, definition: MODELS_PROVIDER },
  AgentData: { module: AgentDataModule, definition: AGENT_DATA },
  Component: { module: ComponentModule, definition: COMPONENT },
  ManagedVault: { module: ManagedVaultModule, definition: MANAGED_VAULT },
  Log: { module: LogModule, definition: LOG },
  Router: { module: RouterModule, definition: ROUTER },
};
