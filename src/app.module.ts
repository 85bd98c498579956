import { Module } from '@nestjs/common';
import { SreModule } from 'nestjs-sre';
import { SreHealthModule } from 'nestjs-sre/health';
import { CacheController } from './cache.controller';
import { FilesController } from './files.controller';
import { HealthController } from './health.controller';
import { KvController } from './kv.controller';
import { ModelsController } from './models.controller';

/**
 * Embedded defaults: data under ./.sre (SRE_DATA_DIR), or the JSON config named by SRE_CONFIG.
 */
@Module({
  imports: [SreModule.forRoot(), SreHealthModule],
  controllers: [FilesController, CacheController, KvController, ModelsController, HealthController],
})
export class AppModule {}
