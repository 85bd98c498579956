import { Module } from '@nestjs/common';
import { loadSreConfig, SreModule, type SreConfig } from 'nestjs-sre';
import { SreHealthModule } from 'nestjs-sre/health';
import { CacheController } from './cache.controller';
import { ChatController } from './chat.controller';
import { CodeController } from './code.controller';
import { ComponentsController } from './components.controller';
import { EchoComponent } from './echo.component';
import { FilesController } from './files.controller';
import { HealthController } from './health.controller';
import { KvController } from './kv.controller';
import { ModelsController } from './models.controller';
import { VectorsController } from './vectors.controller';

/**
 * The seed's config (the JSON named by SRE_CONFIG or SRE_CONFIG_JSON, else every default) with
 * Code on the local `ECMASandbox` (Code has no default connector), LLM on the `ProviderRouter`
 * (LLM has none either), VectorDB on RAMVec with local embeddings (no key, no network; the
 * seed's default embeds with OpenAI) and the Router on this app's own
 * HTTP server (for the temporary file URLs of `POST /files/<path>?share=`), unless that config
 * names its own.
 * A config that cannot be read leaves `forRoot()` to read it again and report it at boot.
 */
function exampleConfig(): SreConfig | undefined {
  try {
    return {
      Code: { Connector: 'ECMASandbox', Settings: { timeoutMs: 2000, memoryLimitMB: 64 } },
      Router: { Connector: 'ExpressRouter' },
      // every provider from one LLMService, each model to its provider's connector; `echo` needs no key
      LLM: { Connector: 'ProviderRouter' },
      // embedded in this process (Universal Sentence Encoder lite): semantic search with no key
      VectorDB: { Connector: 'RAMVec', Settings: { embeddings: { provider: 'local' } } },
      ...loadSreConfig(),
    } as SreConfig;
  } catch {
    return undefined;
  }
}

/** Embedded defaults: data under ./.sre (SRE_DATA_DIR), or the JSON config named by SRE_CONFIG. */
@Module({
  imports: [SreModule.forRoot(exampleConfig()), SreHealthModule],
  controllers: [
    FilesController,
    CacheController,
    KvController,
    ModelsController,
    ChatController,
    CodeController,
    ComponentsController,
    VectorsController,
    HealthController,
  ],
  providers: [EchoComponent],
})
export class AppModule {}
