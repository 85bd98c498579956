import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Every vendor SDK is an optional peer: loading nestjs-sre must not load any of them (a connector
 * loads its SDK when it is configured). Jest keeps its own module registry and does not fill
 * `require.cache`, so this runs plain `node` on the BUILT library, as published (`npm test` runs
 * `npm run build` first, which builds it into dist/lib), and reads what that process loaded.
 */
const ROOT = path.resolve(__dirname, '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { default?: string }>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const SDK_PREFIXES = [
  'ioredis',
  '@aws-sdk',
  '@pinecone-database',
  '@zilliz',
  'openai',
  '@anthropic-ai',
  '@google/genai',
  '@energetic-ai',
];
const SOURCES = path.join(ROOT, 'libs/sre/src');
/** The library build (`npm run build:lib`): the folder of the package's main entry point. */
const BUILT = path.dirname(path.join(ROOT, (PACKAGE.exports['.'] as { default: string }).default));

/** Paths under node_modules/<one of the SDKs>/. */
function sdkFiles(files: readonly string[]): string[] {
  return files.filter((file) => {
    const posix = file.split(path.sep).join('/');
    return SDK_PREFIXES.some((sdk) => posix.includes(`/node_modules/${sdk}/`));
  });
}

/** The package's public entry points (`exports`), as files of the build. */
function entryPoints(): string[] {
  return Object.entries(PACKAGE.exports)
    .filter(([subpath]) => subpath !== './package.json')
    .map(([, target]) => path.join(ROOT, typeof target === 'string' ? target : target.default!));
}

/** Library sources whose build output is missing or older than they are. */
function staleSources(dir = SOURCES): string[] {
  const stale: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    if (entry.isDirectory()) stale.push(...staleSources(source));
    else if (/\.ts$/.test(entry.name) && !/(\.d|spec|\.testkit)\.ts$/.test(entry.name)) {
      const built = path.join(BUILT, path.relative(SOURCES, source)).replace(/\.ts$/, '.js');
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(source).mtimeMs)
        stale.push(path.relative(ROOT, source));
    }
  }
  return stale;
}

/** Runs `script` in a fresh node process at the repository root; its last line of output is JSON. */
function runNode<T>(script: string): T {
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`node exited with ${child.status}:\n${child.stderr}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Fails with what to do when the build is missing or older than the sources (a stale build proves nothing). */
function assertBuilt(): void {
  const missing = entryPoints().filter((file) => !fs.existsSync(file));
  if (missing.length)
    throw new Error(
      `${missing.map((file) => path.relative(ROOT, file)).join(', ')} missing: run \`npm run build\` first (npm test does)`,
    );
  const stale = staleSources();
  if (stale.length)
    throw new Error(
      `the build is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}: run \`npm run build\` first (npm test does)`,
    );
}

describe('SDK isolation (e2e)', () => {
  it('loads no vendor SDK when the library and its entry points are required', () => {
    assertBuilt();
    const entries = entryPoints();
    const loaded = runNode<string[]>(
      `${entries.map((file) => `require(${JSON.stringify(file)});`).join(' ')} ` +
        'console.log(JSON.stringify(Object.keys(require.cache)));',
    );
    // the probe saw the library itself: an empty list would prove nothing
    for (const file of entries) expect(loaded).toContain(file);
    expect(loaded.some((file) => file.includes(`${path.sep}node_modules${path.sep}@nestjs${path.sep}`))).toBe(true);
    expect(sdkFiles(loaded)).toEqual([]);
  });

  it('recognises every optional SDK peer of package.json by the paths it loads from', () => {
    const sdks = Object.entries(PACKAGE.peerDependenciesMeta)
      .filter(([name, meta]) => meta.optional && !name.startsWith('@nestjs/'))
      .map(([name]) => name);
    expect(sdks.length).toBeGreaterThanOrEqual(SDK_PREFIXES.length);
    const resolved = runNode<string[]>(
      `console.log(JSON.stringify(${JSON.stringify(sdks)}.map((name) => require.resolve(name))));`,
    );
    expect(resolved).toHaveLength(sdks.length);
    expect(sdkFiles(resolved)).toEqual(resolved);
  });
});
