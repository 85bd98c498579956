import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import { chunkText } from '../embeddings/chunker';
import type { DatasourceInput } from '../vectordb.backend';

export interface DatasourceChunks {
  texts: string[];
  chunkSize: number;
  chunkOverlap: number;
}

/**
 * A datasource's text in chunks, by its own chunk size and overlap or else the connector's; the
 * connector's overlap is cut below a smaller size the datasource names, which is no mistake of the caller's.
 */
export function chunkDatasource(
  datasource: DatasourceInput,
  defaults: { chunkSize: number; chunkOverlap: number },
  source: SreErrorSource,
): DatasourceChunks {
  const chunkSize = datasource.chunkSize ?? defaults.chunkSize;
  const chunkOverlap = datasource.chunkOverlap ?? Math.min(defaults.chunkOverlap, chunkSize - 1);
  const texts = chunkText(datasource.text, chunkSize, chunkOverlap, source);
  if (texts.length === 0) throw new SreInvalidInputError('the datasource text has nothing to embed', source);
  return { texts, chunkSize, chunkOverlap };
}
