import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { stackDecorators } from '../../core/setting-decorators';
import { EmbeddingsSettings } from '../embeddings/embedding-settings';

/*
 * The fields every vector connector's settings have. Defaults and upper bounds stay with each
 * connector (its store's limits differ), so these are decorators, not a base class.
 */

/** `embeddings`: nested embeddings settings, validated as such. */
export function EmbeddingsSetting(): PropertyDecorator {
  return stackDecorators(
    IsOptional(),
    ValidateNested(),
    Type(() => EmbeddingsSettings),
  );
}

/** `chunkSize`: characters per chunk when a datasource names none, 1 to `max`. */
export function ChunkSizeSetting(max: number): PropertyDecorator {
  return stackDecorators(IsOptional(), IsInt(), Min(1), Max(max));
}

/** `chunkOverlap`: characters two chunks share, 0 to `max`. */
export function ChunkOverlapSetting(max: number): PropertyDecorator {
  return stackDecorators(IsOptional(), IsInt(), Min(0), Max(max));
}
