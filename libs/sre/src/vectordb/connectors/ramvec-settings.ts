import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { EmbeddingsSettings } from '../embeddings/embedder';
import { DEFAULT_WORKER_READY_MS, defaultWorkers, MAX_WORKERS } from './ramvec-pool';
import type { RAMVecQuantization } from './ramvec-rows';
import { RAMVecSnapshotSettings } from './ramvec-snapshot';
import { ChunkOverlapSetting, ChunkSizeSetting, EmbeddingsSetting } from './vector-connector-settings';

/** The RAMVec connector's settings (validated by class-validator, defaults as the original's). */
export class RAMVecSettings {
  @EmbeddingsSetting()
  embeddings?: EmbeddingsSettings = new EmbeddingsSettings();

  /** Chunk length in characters when a datasource names none (the original's embedder default). */
  @ChunkSizeSetting(100_000)
  chunkSize?: number = 512;

  @ChunkOverlapSetting(99_999)
  chunkOverlap?: number = 100;

  /** Worker threads that scan large namespaces (default: one a core; 0: every search on the main thread). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_WORKERS)
  workers?: number = defaultWorkers();

  /**
   * How long a scan worker that finished its slice while another still scans stays ready
   * (spinning) for the next search, in ms (default 1; 0: every worker sleeps at once). Waking a
   * sleeping thread costs 0.1-2 ms on a virtual machine's idle core; a ready worker starts in
   * tens of microseconds. The last worker of a pass always sleeps, leaving its core to the caller;
   * with more `workers` than cores none spins.
   */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1000)
  workerReadyMs?: number = DEFAULT_WORKER_READY_MS;

  /**
   * Vectors from which a namespace is scanned by the workers (below, the hop costs more than it
   * saves). Default: 8 MB of scanned rows (~2,700 vectors of 1536 dimensions in fp32 or bf16,
   * ~5,400 in int8).
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  workerThreshold?: number;

  /**
   * 'none': fp32 rows, exact (a pass reads each value's high 16 bits; the candidates they cannot
   * rule out are rescored on the whole values). 'int8': an int8 copy is scanned and the fp32 rows
   * rescored (exact, ~1.25x the memory, half the reads of 'none'). 'bf16': bf16 rows only (half
   * the memory, lossy).
   */
  @IsOptional()
  @IsIn(['none', 'int8', 'bf16'])
  quantization?: RAMVecQuantization = 'none';

  /**
   * A file the namespaces, datasources and vectors are loaded from on connect and saved to (atomically)
   * on disconnect and every `intervalSeconds` while something changed. Default: none (memory only).
   */
  @IsOptional()
  @ValidateNested()
  @Type(() => RAMVecSnapshotSettings)
  snapshot?: RAMVecSnapshotSettings;
}
