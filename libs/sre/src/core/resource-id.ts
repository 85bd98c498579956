import { SreInvalidInputError } from './errors';

const MAX_ID_BYTES = 1024;
/** The longest file name common file systems take (ext4, XFS, APFS, NTFS: 255 bytes or units). */
export const MAX_SEGMENT_BYTES = 255;

/**
 * A resource id is a relative, normalised, slash-separated path: no empty, `.` or `..` segment, no
 * leading or trailing slash, no backslash, no NUL or other control character, at most 1024 bytes
 * and at most 255 bytes per segment (the longest file name file systems take: every backend then
 * accepts the same ids, and a file connector never meets a name its file system refuses). Checked
 * before any backend sees it, so no connector can be walked out of its root (W22).
 */
export function assertResourceId(
  id: unknown,
  what = 'resource id',
  source?: { subsystem?: string; connector?: string },
): asserts id is string {
  const fail = (why: string) => new SreInvalidInputError(`invalid ${what}: ${why}`, source);
  if (typeof id !== 'string' || id.length === 0) throw fail('must be a non-empty string');
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw fail(`longer than ${MAX_ID_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(id)) throw fail('control characters and backslashes are not allowed');
  if (id.startsWith('/')) throw fail('must be relative (no leading slash)');
  for (const segment of id.split('/')) {
    if (segment === '') throw fail('empty path segment');
    if (segment === '.' || segment === '..') throw fail(`'${segment}' segments are not allowed`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
      throw fail(`a path segment is longer than ${MAX_SEGMENT_BYTES} bytes (the longest file name file systems take)`);
  }
}

/** A plain key (cache, vault, NKV): a non-empty string without control characters. */
export function assertKey(
  key: unknown,
  what = 'key',
  source?: { subsystem?: string; connector?: string },
  maxBytes = MAX_ID_BYTES,
): asserts key is string {
  if (typeof key !== 'string' || key.length === 0)
    throw new SreInvalidInputError(`invalid ${what}: must be a non-empty string`, source);
  // a UTF-16 unit is at most 3 bytes of UTF-8: short keys need no byte count (the hot path of every get)
  if (key.length * 3 > maxBytes && Buffer.byteLength(key) > maxBytes)
    throw new SreInvalidInputError(`invalid ${what}: longer than ${maxBytes} bytes`, source);
  if (hasControlCharacter(key))
    throw new SreInvalidInputError(`invalid ${what}: control characters are not allowed`, source);
}

/** Short keys already found free of control characters (see `hasControlCharacter`). */
const cleanKeys = new Set<string>();
const CLEAN_KEYS_MAX = 4096;
const CLEAN_KEY_MAX_LENGTH = 128;

/**
 * U+0000-U+001F or U+007F. A loop, cheaper than a regex; and a short key seen clean before is
 * answered from a set: keys built with template literals are cons strings, whose characters cost
 * an indirection each (~2.5 ns a character), while a set lookup uses the hash the string keeps.
 */
function hasControlCharacter(text: string): boolean {
  if (cleanKeys.has(text)) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  if (text.length <= CLEAN_KEY_MAX_LENGTH) {
    // bounded without LRU bookkeeping: the hot keys come back at once
    if (cleanKeys.size >= CLEAN_KEYS_MAX) cleanKeys.clear();
    cleanKeys.add(text);
  }
  return false;
}
