// nestjs-sre/testing: the contract suites every connector passes, in-memory backends of every
// subsystem and SreTestingModule. Uses Jest's globals (describe/it/expect): import it from specs only.

export * from './sre-testing.module';
export * from './account.contract';
export * from './agent-data.contract';
export * from './cache.contract';
export * from './code.contract';
export * from './component.contract';
export * from './llm.contract';
export * from './log.contract';
export * from './managed-vault.contract';
export * from './models-provider.contract';
export * from './nkv.contract';
export * from './router.contract';
export * from './storage.contract';
export * from './vault.contract';
export * from './vectordb.contract';
export * from './backends/memory-agent-data.backend';
export * from './backends/memory-code.backend';
export * from './backends/memory-component.backend';
export * from './backends/memory-llm.backend';
export * from './backends/memory-log.backend';
export * from './backends/memory-managed-vault.backend';
export * from './backends/memory-models-provider.backend';
export * from './backends/memory-nkv.backend';
export * from './backends/memory-router.backend';
export * from './backends/memory-storage.backend';
export * from './backends/memory-vault.backend';
export * from './backends/memory-vectordb.backend';
