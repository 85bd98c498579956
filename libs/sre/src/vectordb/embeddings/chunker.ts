import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';

const SEPARATORS = ['\n\n', '\n', ' ', ''];

/** Splits `text` on `separator`, each separator kept at the start of the piece after it. */
function splitKeeping(text: string, separator: string): string[] {
  if (separator === '') return [...text];
  const parts = text.split(separator);
  return parts.map((part, i) => (i === 0 ? part : separator + part)).filter((part) => part !== '');
}

/**
 * The original's recursive character splitter (§9.3), lengths in UTF-16 code units: split on the
 * first separator of `\n\n`, `\n`, ` `, `` that the text holds, split pieces still too long with
 * the next ones, merge pieces greedily into chunks of at most `chunkSize`, carry a tail of at most
 * `chunkOverlap` into the next chunk; chunks are trimmed, empty ones dropped.
 */
export function chunkText(text: string, chunkSize: number, chunkOverlap: number, source?: SreErrorSource): string[] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new SreInvalidInputError('chunkSize must be a positive integer', source);
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap >= chunkSize)
    throw new SreInvalidInputError('chunkOverlap must be an integer from 0 to chunkSize - 1', source);
  const pieces = (value: string, separators: string[]): string[] => {
    const index = separators.findIndex((separator) => separator === '' || value.includes(separator));
    const separator = separators[index];
    const rest = separators.slice(index + 1);
    return splitKeeping(value, separator).flatMap((piece) =>
      piece.length >= chunkSize && rest.length ? pieces(piece, rest) : [piece],
    );
  };
  const chunks: string[] = [];
  const emit = (parts: string[]) => {
    const chunk = parts.join('').trim();
    if (chunk) chunks.push(chunk);
  };
  let current: string[] = [];
  let length = 0;
  for (const piece of pieces(text, SEPARATORS)) {
    if (length + piece.length > chunkSize && current.length) {
      emit(current);
      // carry a tail of whole pieces, at most chunkOverlap long, that leaves room for this piece
      while (length > chunkOverlap || (length > 0 && length + piece.length > chunkSize)) {
        length -= current[0].length;
        current = current.slice(1);
      }
    }
    current.push(piece);
    length += piece.length;
  }
  emit(current);
  return chunks;
}
