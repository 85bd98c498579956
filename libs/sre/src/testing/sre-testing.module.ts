import { DynamicModule, Global, Module } from '@nestjs/common';
import { SreModule } from '../sre.module';
import type { SreConfig } from '../sre.config';
import { MemoryAgentDataBackend } from './backends/memory-agent-data.backend';
import { MemoryCodeBackend } from './backends/memory-code.backend';
import { MemoryComponentBackend } from './backends/memory-component.backend';
import { MemoryLLMBackend } from './backends/memory-llm.backend';
import { MemoryLogBackend } from './backends/memory-log.backend';
import { MemoryManagedVaultBackend } from './backends/memory-managed-vault.backend';
import { MemoryModelsProviderBackend } from './backends/memory-models-provider.backend';
import { MemoryNKVBackend } from './backends/memory-nkv.backend';
import { MemoryRouterBackend } from './backends/memory-router.backend';
import { MemoryStorageBackend } from './backends/memory-storage.backend';
import { MemoryVaultBackend } from './backends/memory-vault.backend';
import { MemoryVectorDBBackend } from './backends/memory-vectordb.backend';

/**
 * What every subsystem runs on under `SreTestingModule`: in-memory backends only, so a test touches
 * no disk (no `.sre` folder, no home-directory vault search) and no network.
 */
export const SRE_TESTING_DEFAULTS: Readonly<SreConfig> = Object.freeze({
  Vault: { Connector: MemoryVaultBackend },
  Account: { Connector: 'DummyAccount' },
  Cache: { Connector: 'RAM' },
  Storage: { Connector: MemoryStorageBackend },
  Code: { Connector: MemoryCodeBackend },
  NKV: { Connector: MemoryNKVBackend },
  VectorDB: { Connector: MemoryVectorDBBackend },
  LLM: { Connector: MemoryLLMBackend },
  ModelsProvider: { Connector: MemoryModelsProviderBackend },
  AgentData: { Connector: MemoryAgentDataBackend },
  Component: { Connector: MemoryComponentBackend },
  ManagedVault: { Connector: MemoryManagedVaultBackend },
  Log: { Connector: MemoryLogBackend },
  Router: { Connector: MemoryRouterBackend },
} satisfies SreConfig);

/**
 * Every SRE service, hermetic: `SreTestingModule.forRoot()` in place of `SreModule.forRoot(...)`.
 * Entries of `config` replace the in-memory default of their subsystem (a registered name, your own
 * backend class, or `{ useFactory }` returning a fake), in the seed's format:
 *
 * ```ts
 * Test.createTestingModule({
 *   imports: [SreTestingModule.forRoot({ Account: { Connector: 'DummyAccount', Settings: { data } } })],
 *   providers: [ReportsService],
 * })
 * ```
 */
@Global()
@Module({})
export class SreTestingModule {
  static forRoot(config: SreConfig = {}): DynamicModule {
    const merged = { ...SRE_TESTING_DEFAULTS, ...config } as SreConfig;
    const sre = SreModule.forRoot(merged);
    return { module: SreTestingModule, global: true, imports: [sre], exports: [sre] };
  }
}
