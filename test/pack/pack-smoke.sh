#!/usr/bin/env bash
# The package as users get it: `npm pack` (its prepack builds dist/lib), then the tarball installed
# into a scratch Nest app outside the repository, in a temporary folder removed on exit.
#  1. the tarball: entry points, bin and typings present; no source maps, no dist/libs/sre/src
#     layout, no specs; JSDoc kept in the .d.ts files
#  2. the app boots SreModule on its defaults (SRE_DATA_DIR and HOME in the temp folder) without a
#     warning, writes and reads a file, resolves nestjs-sre/health and nestjs-sre/testing, and runs
#     the sre-vault bin
#  3. a TypeScript consumer type-checks against the installed typings with moduleResolution node10
#     (typesVersions) and node16 (exports)
# Needs the npm registry (the scratch app installs @nestjs/* at this repository's versions).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nestjs-sre-pack.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS

fail() {
  echo "pack-smoke: $*" >&2
  exit 1
}
# the repository's own version of a dev dependency: the scratch app runs what the tests ran
version_of() { node -p "require(process.argv[1]).devDependencies[process.argv[2]]" "$ROOT/package.json" "$1"; }

# 1. the tarball ---------------------------------------------------------------------------------
(cd "$ROOT" && npm pack --pack-destination "$WORK" --loglevel=error >"$WORK/pack.log") ||
  fail "npm pack failed:"$'\n'"$(cat "$WORK/pack.log")"
tarball="$(find "$WORK" -maxdepth 1 -name 'nestjs-sre-*.tgz' -print -quit)"
[ -n "$tarball" ] || fail "npm pack wrote no tarball"
tar -tzf "$tarball" | sed 's|^package/||' | sort >"$WORK/files.txt"

for file in package.json README.md dist/lib/index.js dist/lib/index.d.ts dist/lib/health/index.js \
  dist/lib/health/index.d.ts dist/lib/testing/index.js dist/lib/testing/index.d.ts dist/lib/vault/vault.cli.js; do
  grep -qx "$file" "$WORK/files.txt" || fail "the tarball lacks $file"
done
awk '/\.map$|\.tsbuildinfo$|\.spec\.|\.testkit\.|^dist\/(libs|src|bench)\// || (/\.ts$/ && !/\.d\.ts$/)' \
  "$WORK/files.txt" >"$WORK/unwanted.txt"
[ ! -s "$WORK/unwanted.txt" ] || fail "the tarball ships files it should not:"$'\n'"$(head -20 "$WORK/unwanted.txt")"
tar -xzf "$tarball" -O package/dist/lib/core/backend.d.ts >"$WORK/backend.d.ts"
grep -q '^/\*\*' "$WORK/backend.d.ts" || fail "dist/lib/core/backend.d.ts lost its JSDoc (removeComments?)"

# 2. a scratch Nest app ----------------------------------------------------------------------------
APP="$WORK/app"
mkdir -p "$APP" "$WORK/home" "$WORK/data"
cat >"$APP/package.json" <<JSON
{
  "name": "nestjs-sre-pack-smoke",
  "version": "0.0.0",
  "private": true,
  "dependencies": {
    "@nestjs/common": "$(version_of @nestjs/common)",
    "@nestjs/core": "$(version_of @nestjs/core)",
    "@nestjs/platform-express": "$(version_of @nestjs/platform-express)",
    "reflect-metadata": "$(version_of reflect-metadata)",
    "rxjs": "$(version_of rxjs)",
    "nestjs-sre": "file:$tarball"
  }
}
JSON
(cd "$APP" && npm install --no-audit --no-fund --no-package-lock --ignore-scripts --loglevel=error >"$WORK/install.log" 2>&1) ||
  fail "npm install of the tarball failed:"$'\n'"$(tail -30 "$WORK/install.log")"

cat >"$APP/main.js" <<'JS'
'use strict';
require('reflect-metadata');
const fs = require('node:fs');
const path = require('node:path');
const { ConsoleLogger, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { SreModule, StorageService } = require('nestjs-sre');

const complaints = [];
class RecordingLogger extends ConsoleLogger {
  warn(message, ...rest) {
    complaints.push(`warn: ${message}`);
    super.warn(message, ...rest);
  }
  error(message, ...rest) {
    complaints.push(`error: ${message}`);
    super.error(message, ...rest);
  }
}

class AppModule {}
Module({ imports: [SreModule.forRoot()] })(AppModule);

async function main() {
  const dist = `${path.sep}node_modules${path.sep}nestjs-sre${path.sep}dist${path.sep}lib${path.sep}`;
  const entries = {
    'nestjs-sre': 'index.js',
    'nestjs-sre/health': path.join('health', 'index.js'),
    'nestjs-sre/testing': path.join('testing', 'index.js'),
  };
  for (const [request, file] of Object.entries(entries)) {
    const resolved = require.resolve(request);
    if (!resolved.endsWith(dist + file)) throw new Error(`${request} resolves to ${resolved}`);
  }

  // only problems are printed (and recorded): a clean boot is silent
  const logger = new RecordingLogger();
  logger.setLogLevels(['warn', 'error', 'fatal']);
  const app = await NestFactory.create(AppModule, { logger });
  await app.listen(0, '127.0.0.1');
  const files = app.get(StorageService).team('smoke');
  await files.write('teams/smoke/hello.txt', 'hello');
  const back = (await files.read('teams/smoke/hello.txt'))?.toString('utf8');
  if (back !== 'hello') throw new Error(`read back ${JSON.stringify(back)}`);
  await app.close();

  if (fs.readdirSync(process.env.SRE_DATA_DIR).length === 0) throw new Error('nothing was written to SRE_DATA_DIR');
  if (complaints.length) throw new Error(`booting on the defaults logged:\n${complaints.join('\n')}`);
  console.log('pack-smoke: the app booted on the defaults, wrote and read a file, and shut down');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
JS
(
  cd "$APP"
  env -u SRE_CONFIG -u SRE_CONFIG_JSON -u SMYTH_PATH -u NODE_ENV -u JEST_WORKER_ID \
    HOME="$WORK/home" SRE_DATA_DIR="$WORK/data" NO_COLOR=1 node main.js
) || fail "the scratch app failed"

"$APP/node_modules/.bin/sre-vault" --help >"$WORK/help.txt" || fail "sre-vault --help exited with $?"
grep -q '^Usage:' "$WORK/help.txt" || fail "sre-vault --help printed no usage"

# 3. the typings, as a TypeScript consumer on node10 and on node16 resolution sees them ------------
cat >"$APP/consumer.ts" <<'TS'
import { SreModule, type SreConfig } from 'nestjs-sre';
import type { SreHealthIndicator, SreHealthModule } from 'nestjs-sre/health';
import type { MemoryStorageBackend, SreTestingModule } from 'nestjs-sre/testing';

export const config: SreConfig = { Cache: { Connector: 'RAM', Settings: { maxEntries: 10 } } };
export const root = SreModule.forRoot(config);
export type Used = [SreHealthIndicator['isHealthy'], typeof SreHealthModule, typeof SreTestingModule, MemoryStorageBackend];
// real types, not `any`: a misspelt connector does not compile
// @ts-expect-error 'RAMM' is not a Cache connector
export const wrong: SreConfig = { Cache: { Connector: 'RAMM' } };
TS
TSC="$ROOT/node_modules/typescript/bin/tsc"
for resolution in node10:commonjs node16:node16; do
  cat >"$APP/tsconfig.json" <<JSON
{
  "compilerOptions": {
    "moduleResolution": "${resolution%%:*}",
    "module": "${resolution##*:}",
    "target": "es2022",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true,
    "types": [],
    "ignoreDeprecations": "6.0"
  },
  "files": ["consumer.ts"]
}
JSON
  (cd "$APP" && node "$TSC" -p tsconfig.json) ||
    fail "consumer.ts does not type-check with moduleResolution ${resolution%%:*}"
done

echo "pack-smoke: $(basename "$tarball"), $(wc -l <"$WORK/files.txt") files, $(du -k "$tarball" | cut -f1) kB packed: ok in $((SECONDS - started)) s"
