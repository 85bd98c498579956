import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import type { CodeConfig, CodeInput, CodeScope } from '../code.backend';

/** npm's package-name grammar (scoped or not, lower case, url-safe): nothing else reaches the bundle (W43). */
const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;
const SPECIFIERS = [
  /\bimport\s+(?:[\w*{}\s,]+\s+from\s+)?['"]([^'"]+)['"]/g,
  /\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];
const SECRET = /\{\{\s*KEY\(\s*([^)]+?)\s*\)\s*\}\}/g;
const BUILTIN = new Set(builtinModules);
const MAX_BUNDLE_BYTES = 50 * 1024 * 1024;

/**
 * The function of a code unit: `<prefix><uid, cut>-<128 bits of sha256(team, owner, uid)>`, within
 * Lambda's 64 characters. The hash makes names of different units differ (W09); the uid is only
 * there for people reading the console.
 */
export function functionNameOf(prefix: string, scope: CodeScope): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([scope.team, scope.owner.role, scope.owner.id, scope.uid]))
    .digest('hex')
    .slice(0, 32);
  const room = 64 - prefix.length - digest.length - 1;
  return `${prefix}${scope.uid.replace(/[^A-Za-z0-9_-]/g, '').slice(0, Math.max(0, room))}-${digest}`;
}

/** The names of the vault secrets the code uses (`{{KEY(NAME)}}`). */
export function secretNamesOf(code: string): string[] {
  return [...new Set([...code.matchAll(SECRET)].map((m) => m[1]))].sort();
}

/**
 * The packages the code imports (bare specifiers; a scope keeps two segments) plus those listed in
 * `dependencies` (names separated by spaces, commas or newlines, or a package.json-like JSON object).
 * A name outside npm's grammar is refused, never passed on.
 */
export function dependenciesOf(input: CodeInput): { names: string[]; invalid: string[] } {
  const found = new Set<string>();
  for (const pattern of SPECIFIERS)
    for (const [, spec] of input.code.matchAll(pattern)) {
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      const parts = spec.split('/');
      found.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  const extra = input.dependencies?.trim() ?? '';
  if (extra.startsWith('{')) {
    try {
      const parsed = JSON.parse(extra) as { dependencies?: Record<string, string> } & Record<string, unknown>;
      for (const name of Object.keys(parsed.dependencies ?? parsed)) found.add(name);
    } catch {
      found.add(extra);
    }
  } else for (const name of extra.split(/[\s,]+/).filter(Boolean)) found.add(name.replace(/(.)@[^/]*$/, '$1'));
  const names = [...found].filter((name) => !BUILTIN.has(name)).sort();
  return { names: names.filter((n) => PACKAGE_NAME.test(n)), invalid: names.filter((n) => !PACKAGE_NAME.test(n)) };
}

/** What decides a redeploy: code, input names, secret names (not values), dependencies and configuration. */
export function contentHashOf(input: CodeInput, config: CodeConfig, runtime: string, deps: string[]): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        input.code,
        Object.entries(input.files ?? {}).sort(),
        Object.keys(input.inputs ?? {}).sort(),
        secretNamesOf(input.code),
        deps,
        runtime,
        config.timeout ?? null,
        config.memoryLimit ?? null,
        Object.entries(config.environment ?? {}).sort(),
      ]),
    )
    .digest('hex');
}

/**
 * `index.mjs`: the user's module, `{{KEY(NAME)}}` read per invocation from the client context
 * (secrets never sit in the function's environment, W45), then a handler that binds `main`'s
 * parameters from the event (a destructured one gets the whole event) and times the call.
 */
export function handlerSourceOf(code: string): string {
  const body = code.replace(SECRET, (_, name: string) => `__sreSecret(${JSON.stringify(name)})`);
  return `let __sreSecrets = {};
const __sreSecret = (name) => __sreSecrets[name];
${body}
;
function __sreArgs(fn, event) {
  const src = Function.prototype.toString.call(fn);
  const open = src.indexOf('(');
  let depth = 0, end = open, parts = [], start = open + 1;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') { depth--; if (depth === 0) { end = i; break; } }
    else if (c === ',' && depth === 1) { parts.push(src.slice(start, i)); start = i + 1; }
  }
  parts.push(src.slice(start, end));
  const args = [];
  for (const raw of parts.map((p) => p.trim()).filter(Boolean)) {
    if (raw.startsWith('{') || raw.startsWith('[')) args.push(event);
    else if (raw.startsWith('...')) { const v = event[raw.slice(3).trim()]; if (Array.isArray(v)) args.push(...v); }
    else args.push(event[raw.split('=')[0].trim()]);
  }
  return args;
}
export const handler = async (event, context) => {
  context.callbackWaitsForEmptyEventLoop = false;
  __sreSecrets = (context.clientContext && context.clientContext.custom && context.clientContext.custom.secrets) || {};
  const started = performance.now();
  const result = await main(...__sreArgs(main, event ?? {}));
  return { result, executionTime: performance.now() - started };
};
`;
}

/**
 * The packages' files from `packagesDir` (an operator-installed node_modules), each with the
 * packages it depends on, read from disk: no install, no shell, no install scripts (W43).
 */
export function packageFilesOf(
  names: string[],
  packagesDir: string,
): { files: Record<string, Uint8Array>; missing: string[] } {
  const files: Record<string, Uint8Array> = {};
  const missing: string[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  const add = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const dir = path.join(packagesDir, name);
    let manifest: { dependencies?: Record<string, string> };
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      missing.push(name);
      return;
    }
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = path.join(entry.parentPath, entry.name);
      const data = fs.readFileSync(full);
      bytes += data.length;
      if (bytes > MAX_BUNDLE_BYTES) throw new RangeError(`the dependencies exceed ${MAX_BUNDLE_BYTES} bytes`);
      files[path.posix.join('node_modules', name, path.relative(dir, full).split(path.sep).join('/'))] = data;
    }
    for (const dependency of Object.keys(manifest.dependencies ?? {}))
      if (PACKAGE_NAME.test(dependency)) add(dependency);
  };
  for (const name of names) add(name);
  return { files, missing };
}
