import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { isAbsent } from '../../core/fs/fs-util';
import type { CacheData } from '../cache.backend';

const fsp = fs.promises;

/**
 * The one-file-per-key layout of a file cache: the file name of a key, and the entry file format
 * (a first line of JSON, `FileHeader`, then the value's bytes).
 */

/** How a value is kept in the file: its JS type, and where its bytes are. */
export type ValueType = 's' | 'b' | 'j' | 'n' | 't' | 'f' | 'z';

/** The first line of an entry file (JSON). */
export interface FileHeader {
  /** The full key: checked on read (hashed names, files moved by hand). */
  key: string;
  /** Random per write: the entry's version. */
  w: string;
  acl: string;
  /** Metadata JSON text, verbatim. */
  meta: string;
  exp?: number;
  type: ValueType;
  /** A number's text (`String(n)`, `-0` kept). */
  num?: string;
  /** Bytes of the body after the header line. */
  len: number;
}

/** Encoded names longer than this are replaced by a hash of the key (file systems take 255 bytes). */
const MAX_DIRECT_NAME = 200;
const HEADER_CHUNK = 16 * 1024;
/** Characters kept as they are in a file name; everything else is `%HH` (UTF-8 bytes, upper-case hex). */
const SAFE = /^[a-z0-9_-]$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The file name of a key, injective and safe on every file system: `e_` + the key with every
 * character but `a-z 0-9 _ -` percent-encoded (upper-case hex, so case-insensitive file systems
 * cannot merge two names; never `.`, `/` or NUL); `h_` + SHA-256 of the key's UTF-16 code units
 * when that would be longer than 200 bytes or the key holds a lone surrogate (UTF-8 cannot).
 */
export function localCacheFileName(key: string): string {
  if (!LONE_SURROGATE.test(key)) {
    let encoded = 'e_';
    for (const char of key) {
      if (SAFE.test(char)) encoded += char;
      else
        for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      if (encoded.length > MAX_DIRECT_NAME) break;
    }
    if (encoded.length <= MAX_DIRECT_NAME) return encoded;
  }
  return `h_${createHash('sha256').update(Buffer.from(key, 'utf16le')).digest('hex')}`;
}

/** The whole file of an entry: the header line (with `len` set from `body`), then `body`. */
export function encodeEntryFile(fields: Omit<FileHeader, 'len'>, body: Buffer): Buffer {
  const header: FileHeader = { ...fields, len: body.length };
  const line = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  return Buffer.concat([line, body]);
}

/** An entry file as read: its header and, when asked for, its body. */
export interface EntryFile {
  readonly header: FileHeader;
  readonly body?: Buffer;
}

/**
 * Reads one entry file from one descriptor: `undefined` when missing, `'corrupt'` when it cannot be
 * decoded (header, length, or a JSON body that does not parse); other errors are thrown.
 */
export async function readEntryFile(file: string, withBody: boolean): Promise<EntryFile | 'corrupt' | undefined> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    let head = Buffer.alloc(0);
    let newline = -1;
    while (newline < 0 && head.length < size) {
      const chunk = Buffer.alloc(Math.min(HEADER_CHUNK, size - head.length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, head.length);
      if (bytesRead === 0) break;
      const from = head.length;
      head = Buffer.concat([head, chunk.subarray(0, bytesRead)]);
      newline = head.indexOf(0x0a, from);
    }
    const header = newline < 0 ? undefined : decodeHeaderLine(head.subarray(0, newline));
    if (header === undefined || newline + 1 + header.len !== size) return 'corrupt';
    if (!withBody) return { header };
    const body = Buffer.alloc(header.len);
    const have = head.subarray(newline + 1);
    have.copy(body);
    let offset = have.length;
    while (offset < header.len) {
      const { bytesRead } = await handle.read(body, offset, header.len - offset, newline + 1 + offset);
      if (bytesRead === 0) return 'corrupt';
      offset += bytesRead;
    }
    if (header.type === 'j' && !isJson(body)) return 'corrupt';
    return { header, body };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const TYPES: ReadonlySet<string> = new Set<ValueType>(['s', 'b', 'j', 'n', 't', 'f', 'z']);

export function decodeHeaderLine(line: Buffer): FileHeader | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const h = parsed as Partial<FileHeader>;
  const ok =
    typeof h.key === 'string' &&
    typeof h.w === 'string' &&
    typeof h.acl === 'string' &&
    typeof h.meta === 'string' &&
    (h.exp === undefined || (typeof h.exp === 'number' && Number.isFinite(h.exp))) &&
    typeof h.type === 'string' &&
    TYPES.has(h.type) &&
    (h.type !== 'n' || typeof h.num === 'string') &&
    Number.isSafeInteger(h.len) &&
    h.len! >= 0;
  return ok ? (h as FileHeader) : undefined;
}

/** How `value` is stored: its type tag, a number's text, and the body bytes. */
export function encodeValue(value: CacheData): { type: ValueType; num?: string; body: Buffer } {
  const none = Buffer.alloc(0);
  if (typeof value === 'string') return { type: 's', body: Buffer.from(value, 'utf8') };
  if (typeof value === 'number') return { type: 'n', num: Object.is(value, -0) ? '-0' : String(value), body: none };
  if (typeof value === 'boolean') return { type: value ? 't' : 'f', body: none };
  if (value === null) return { type: 'z', body: none };
  if (Buffer.isBuffer(value)) return { type: 'b', body: value };
  return { type: 'j', body: Buffer.from(value.json, 'utf8') };
}

/** The value a header and body stand for (the inverse of `encodeValue`). */
export function valueOf(header: FileHeader, body: Buffer): CacheData {
  switch (header.type) {
    case 's':
      return body.toString('utf8');
    case 'b':
      return body;
    case 'j':
      return { json: body.toString('utf8') };
    case 'n':
      return Number(header.num);
    case 't':
      return true;
    case 'f':
      return false;
    default:
      return null;
  }
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Deletes `file`; already gone is fine. */
export async function unlinkQuietly(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (error) {
    if (!isAbsent(error)) throw error;
  }
}
