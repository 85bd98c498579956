import { decodeHeaderFields, encodeHeaderFields, type StoredHeader } from '../../core/fs/header-codec';
import { ACL } from '../../security/acl';

/** Our own user-metadata keys; user keys of these names travel in the blob instead. */
const REVISION = 'sre-rev';
const BLOB = 'sre-meta';
const EXPIRES = 'expiresat';
/** Keys the original wrote before it stored ACLs: their owners are migrated on read. */
const LEGACY_OWNER_KEYS = { agentid: 'agent', teamid: 'team', userid: 'user' } as const;
const OURS = new Set([REVISION, BLOB, EXPIRES, 'acl', ...Object.keys(LEGACY_OWNER_KEYS)]);
/** What S3 keeps of a user-metadata name (it lower-cases them) and of a value (US-ASCII) unchanged. */
const PLAIN_KEY = /^[a-z0-9][a-z0-9_.-]*$/;
const PLAIN_VALUE = /^[\x20-\x7e]*$/;
/** Content types S3 (and s3rver) report for an object stored without one. */
const UNTYPED = new Set(['binary/octet-stream', 'application/octet-stream']);

/** A header as S3 request fields. */
export interface S3Header {
  Metadata: Record<string, string>;
  ContentType?: string;
}

/**
 * The original's S3 layout: `x-amz-meta-acl` with the compact ACL and one `x-amz-meta-<key>` per
 * user key (strings as they are, other values as JSON), the MIME type as the object's
 * Content-Type. S3 lower-cases metadata names and carries ASCII only, so a key it would change
 * (`camelCase`, `é`) or a value outside ASCII goes, escaped, into one JSON entry `x-amz-meta-sre-meta`
 * instead of being altered. `x-amz-meta-sre-rev` names the write (S3's ETag does not change
 * when only metadata does); `x-amz-meta-expiresat` holds the expiry in epoch ms.
 */
export function encodeS3Header(header: StoredHeader, revision: string): S3Header {
  const { ContentType, ...rest } = header.metadata;
  const contentType = typeof ContentType === 'string' && PLAIN_VALUE.test(ContentType) ? ContentType : undefined;
  // a type S3 cannot carry as Content-Type stays a metadata key (in the blob)
  const metadata = contentType !== undefined ? rest : header.metadata;
  const fields = encodeHeaderFields({ acl: header.acl, metadata, expiresAt: header.expiresAt });
  const out: Record<string, string> = { acl: fields.acl, [REVISION]: revision };
  if (fields.expiresAt !== undefined) out[EXPIRES] = fields.expiresAt;
  const blob: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'acl' || key === 'expiresAt') continue;
    if (PLAIN_KEY.test(key) && !OURS.has(key) && PLAIN_VALUE.test(value)) out[key] = value;
    else blob[key] = value;
  }
  if (Object.keys(blob).length) out[BLOB] = asciiJson(blob);
  return contentType !== undefined ? { Metadata: out, ContentType: contentType } : { Metadata: out };
}

/** Reads `encodeS3Header`'s layout, and the original's (legacy owner keys become owners). */
export function decodeS3Header(
  metadata: Record<string, string> | undefined,
  contentType: string | undefined,
  problem?: (what: string) => void,
): { header: StoredHeader; revision: string } {
  const fields: Record<string, unknown> = {};
  let revision = '';
  const legacy: [keyof typeof LEGACY_OWNER_KEYS, string][] = [];
  for (const [key, value] of Object.entries(metadata ?? {})) {
    const name = key.toLowerCase();
    if (name === REVISION) revision = value;
    else if (name === EXPIRES) fields.expiresAt = value;
    else if (name === BLOB) Object.assign(fields, parseBlob(value, problem));
    else if (name in LEGACY_OWNER_KEYS) legacy.push([name as keyof typeof LEGACY_OWNER_KEYS, value]);
    else fields[name] = value;
  }
  const header = decodeHeaderFields(fields, problem);
  if (legacy.length) {
    const acl = fields.acl === undefined ? new ACL() : header.acl;
    for (const [key, id] of legacy) if (id) acl.addAccess(LEGACY_OWNER_KEYS[key], id, ['owner', 'read', 'write']);
    header.acl = acl;
  }
  if (contentType !== undefined && !UNTYPED.has(contentType)) header.metadata.ContentType = contentType;
  return { header, revision };
}

function parseBlob(text: string, problem?: (what: string) => void): Record<string, string> {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, string>;
  } catch {
    // reported below
  }
  problem?.(`its ${BLOB} metadata is not a JSON object: those keys are ignored`);
  return {};
}

/** JSON with everything outside printable ASCII escaped, so it fits an HTTP header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
