import { SreInvalidInputError } from '../errors';
import { ACL, type IACL } from '../../security/acl';

/** What a resource stores beside its value: the ACL, user metadata and an optional expiry. */
export interface StoredHeader {
  acl: ACL;
  metadata: Record<string, unknown>;
  /** Epoch milliseconds; `undefined`: never expires. */
  expiresAt?: number;
}

/** Keys the layout itself uses; user metadata under these names is never stored. */
export const RESERVED_HEADER_KEYS: ReadonlySet<string> = new Set(['acl', 'expiresAt']);

/**
 * The original's metadata layout, a flat object of strings (a JSON file, S3 user metadata): the
 * ACL in compact form under `acl`, `expiresAt` in epoch milliseconds, user keys beside them.
 * Strings are stored as they are unless they would parse as JSON (then they are JSON-encoded, so
 * `"42"` comes back as a string, not a number); every other value is JSON-encoded. Throws
 * `SreInvalidInputError` for a value JSON cannot hold.
 */
export function encodeHeaderFields(header: StoredHeader): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(header.metadata)) {
    if (RESERVED_HEADER_KEYS.has(key) || key === '__proto__' || value === undefined) continue;
    fields[key] = typeof value === 'string' && !parsesAsJson(value) ? value : toJson(key, value);
  }
  fields.acl = header.acl.serialize();
  if (header.expiresAt !== undefined) fields.expiresAt = String(header.expiresAt);
  return fields;
}

/**
 * Reads the layout back. Each user value is parsed as JSON, falling back to the raw string, which
 * also reads what the original wrote. A missing ACL grants nothing; so does one that cannot be
 * parsed, which is reported through `problem`.
 */
export function decodeHeaderFields(fields: Record<string, unknown>, problem?: (what: string) => void): StoredHeader {
  const metadata: Record<string, unknown> = {};
  let acl: ACL | undefined;
  let expiresAt: number | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'acl') {
      try {
        acl = typeof value === 'string' ? ACL.parse(value) : ACL.from(value as IACL);
      } catch {
        problem?.('its ACL cannot be parsed: nobody can access it');
      }
    } else if (key === 'expiresAt') {
      const at = Number(value);
      if (Number.isFinite(at)) expiresAt = at;
    } else if (key !== '__proto__') {
      metadata[key] = typeof value === 'string' ? parseOrRaw(value) : value;
    }
  }
  return { acl: acl ?? new ACL(), metadata, expiresAt };
}

/** `encodeHeaderFields` as the JSON text of a metadata file. */
export function encodeHeader(header: StoredHeader): string {
  return JSON.stringify(encodeHeaderFields(header));
}

/** A metadata file's text; anything but a JSON object decodes to an empty header (nobody may access it). */
export function decodeHeader(text: string, problem?: (what: string) => void): StoredHeader {
  const fields = parseOrRaw(text);
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    problem?.('its metadata is not a JSON object: nobody can access it until it is rewritten by hand');
    return { acl: new ACL(), metadata: {} };
  }
  return decodeHeaderFields(fields as Record<string, unknown>, problem);
}

function toJson(key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) throw new SreInvalidInputError(`metadata '${key}' is not JSON-serialisable`);
  return json;
}

function parsesAsJson(value: string): boolean {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

function parseOrRaw(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
