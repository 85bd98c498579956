import { redactSecrets } from '../core/secrets';

export interface LogRedactionOptions {
  /** Longest string kept; longer ones are cut and marked `…[truncated N chars]`. */
  maxFieldLength: number;
  /** More key names whose values are hidden (compared ignoring case, `-` and `_`). */
  redactKeys?: readonly string[];
  /** Literal values (the connector's secret settings) replaced by `***` wherever they appear. */
  secrets?: readonly string[];
}

export const REDACTED = '***';
const MAX_DEPTH = 12;
const MAX_ITEMS = 200;
/** Masking runs on a bit more than what is kept, so a secret cut by the truncation is still whole when masked. */
const MASK_MARGIN = 4096;

/** Key fragments that mark a value as secret wherever they appear in a (normalised) key name. */
const SECRET_KEY_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'apikey',
  'authorization',
  'cookie',
  'credential',
  'privatekey',
  'accesskey',
];
/** Whole (normalised) key names that are secret; `…token` keys too, but not `…tokens` counters. */
const SECRET_KEY_NAMES = new Set(['pwd', 'auth', 'jwt', 'bearer', 'signature', 'sig']);

/** Values that look like credentials, wherever they appear in a string. */
const SECRET_VALUE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`],
  // JWT: base64url of '{"' starts both the header and the payload
  [/\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-) and look-alikes
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g, REDACTED],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{35}/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/g, REDACTED],
  [/\bgithub_pat_[A-Za-z0-9_]{22,}/g, REDACTED],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, REDACTED],
  // user:password@ in URLs
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/:@]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
];

/**
 * Every literal one of the patterns above needs in its match (case-folded: a superset). A string
 * without any of them cannot match a pattern, so the eleven scans are skipped for it: most entry
 * strings (ids, prompts, numbers as text) never contain one.
 */
const MAY_HOLD_A_SECRET = /-----BEGIN|bearer|eyJ|sk-|[srp]k_|AKIA|ASIA|AIza|gh[pousr]_|github_pat_|xox[abposr]-|:\/\//i;
/** Key names seen by one redactor, decided once: entries of one runtime reuse a handful of names. */
const MAX_KNOWN_KEYS = 1024;

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Makes a log entry safe to write: values under secret-looking keys become `***` (nested objects
 * and arrays included), credential-looking strings are masked wherever they appear, the connector's
 * secret settings are scrubbed, long strings are truncated, binary data is summarised, and
 * circular or very deep structures are cut instead of crashing. Returns a JSON-ready copy.
 */
export class LogRedactor {
  private readonly extraKeys: ReadonlySet<string>;
  private readonly secrets: readonly string[];
  private readonly maxFieldLength: number;
  /** Key name -> its masked text and whether its value is secret. */
  private readonly knownKeys = new Map<string, { name: string; secret: boolean }>();

  constructor(options: LogRedactionOptions) {
    this.maxFieldLength = options.maxFieldLength;
    this.extraKeys = new Set((options.redactKeys ?? []).map(normaliseKey).filter(Boolean));
    this.secrets = options.secrets ?? [];
  }

  isSecretKey(key: string): boolean {
    const name = normaliseKey(key);
    if (SECRET_KEY_NAMES.has(name) || this.extraKeys.has(name) || name.endsWith('token')) return true;
    for (const part of SECRET_KEY_PARTS) if (name.includes(part)) return true;
    return false;
  }

  /** A string with secrets masked and its length capped. */
  text(value: string): string {
    const limit = this.maxFieldLength;
    const cut = value.length > limit + MASK_MARGIN ? value.slice(0, limit + MASK_MARGIN) : value;
    let out = this.secrets.length ? redactSecrets(cut, this.secrets) : cut;
    if (MAY_HOLD_A_SECRET.test(out))
      for (const [pattern, replacement] of SECRET_VALUE_PATTERNS) out = out.replace(pattern, replacement);
    if (out.length <= limit && cut === value) return out;
    return `${out.slice(0, limit)}…[truncated, ${value.length} chars]`;
  }

  /** A JSON-ready copy of `value` with every rule applied. */
  redact(value: unknown): unknown {
    return this.walk(value, new Set(), 0);
  }

  private walk(value: unknown, ancestors: Set<object>, depth: number): unknown {
    switch (typeof value) {
      case 'string':
        return this.text(value);
      case 'number':
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (value === null) return null;
    const object = value as object;
    if (ancestors.has(object)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[Too deep]';
    if (Buffer.isBuffer(object)) return `[Buffer ${object.length} bytes]`;
    if (ArrayBuffer.isView(object)) return `[${object.constructor.name} ${object.byteLength} bytes]`;
    if (object instanceof ArrayBuffer) return `[ArrayBuffer ${object.byteLength} bytes]`;
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
    ancestors.add(object);
    try {
      if (object instanceof Error) return this.walkError(object, ancestors, depth);
      if (Array.isArray(object)) return this.walkList(object, ancestors, depth);
      if (object instanceof Set) return this.walkList([...object], ancestors, depth);
      if (object instanceof Map)
        return this.walkEntries(
          [...object].map(([k, v]) => [String(k), v] as const),
          ancestors,
          depth,
        );
      const toJSON = (object as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        const plain: unknown = toJSON.call(object);
        return plain === object ? this.walkObject(object, ancestors, depth) : this.walk(plain, ancestors, depth + 1);
      }
      return this.walkObject(object, ancestors, depth);
    } catch {
      return '[Unreadable]';
    } finally {
      ancestors.delete(object);
    }
  }

  private walkList(list: readonly unknown[], ancestors: Set<object>, depth: number): unknown[] {
    const out = list.slice(0, MAX_ITEMS).map((item) => {
      const redacted = this.walk(item, ancestors, depth + 1);
      return redacted === undefined ? null : redacted;
    });
    if (list.length > MAX_ITEMS) out.push(`…[${list.length - MAX_ITEMS} more items]`);
    return out;
  }

  private walkObject(object: object, ancestors: Set<object>, depth: number): Record<string, unknown> {
    const entries: Array<readonly [string, unknown]> = [];
    for (const key of Object.keys(object)) {
      let value: unknown;
      try {
        value = (object as Record<string, unknown>)[key];
      } catch {
        value = '[Unreadable]';
      }
      entries.push([key, value]);
    }
    return this.walkEntries(entries, ancestors, depth);
  }

  private walkEntries(
    entries: ReadonlyArray<readonly [string, unknown]>,
    ancestors: Set<object>,
    depth: number,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let kept = 0;
    for (const [key, value] of entries) {
      if (kept === MAX_ITEMS) {
        out['…'] = `[${entries.length - MAX_ITEMS} more keys]`;
        break;
      }
      const { name, secret } = this.keyOf(key);
      if (secret) {
        if (value !== undefined && value !== null && value !== '') out[name] = REDACTED;
        else out[name] = value;
      } else {
        const redacted = this.walk(value, ancestors, depth + 1);
        if (redacted !== undefined) out[name] = redacted;
      }
      kept++;
    }
    return out;
  }

  private keyOf(key: string): { name: string; secret: boolean } {
    let known = this.knownKeys.get(key);
    if (known === undefined) {
      known = { name: this.text(key), secret: this.isSecretKey(key) };
      // a bounded memo: keys made of data (ids as keys) must not grow it without end
      if (this.knownKeys.size >= MAX_KNOWN_KEYS) this.knownKeys.clear();
      this.knownKeys.set(key, known);
    }
    return known;
  }

  private walkError(error: Error, ancestors: Set<object>, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.text(error.name), message: this.text(error.message) };
    const extra = this.walkObject(error, ancestors, depth);
    for (const [key, value] of Object.entries(extra)) if (!(key in out) && key !== 'stack') out[key] = value;
    return out;
  }
}
