import * as fs from 'node:fs';
import { benchResultsFile, latestResultsFile, printResultsComparison, printSummary, recordedRows } from './util';

/**
 * `npm run bench [name] [--compare [file]]`: every benchmark prints its numbers next to a baseline
 * measured in the same process (raw fs, a raw Map), with the ratio. Nothing here passes or fails on
 * time. The rows also go to bench/results/<run>.jsonl; `--compare` prints them next to an earlier
 * file (the newest earlier one when no file is given).
 */
function parseArgs(argv: string[]): { only?: string; compare?: string | true } {
  let only: string | undefined;
  let compare: string | true | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--compare') {
      const next = argv[i + 1];
      // a following .jsonl (or existing path) is the file; otherwise the flag stands alone
      if (next !== undefined && !next.startsWith('--') && (next.endsWith('.jsonl') || fs.existsSync(next))) {
        compare = next;
        i++;
      } else compare = true;
    } else if (arg.startsWith('--compare=')) compare = arg.slice('--compare='.length) || true;
    else if (!arg.startsWith('--') && only === undefined) only = arg;
  }
  return { only, compare };
}

/**
 * Each suite loads its modules when it runs, so an in-memory suite runs before a client SDK is
 * loaded, as in an app that does not configure it: with ioredis merely loaded (`require`, no
 * connection), the RAM Cache set+get of this process measured 360-400 ns against 280-330 without,
 * its async-Map baseline 155-163 against 140-150 (2026-12-02).
 */
const SUITES: ReadonlyArray<readonly [string, () => Promise<void>]> = [
  ['cache', async () => (await import('./cache.bench.js')).runCacheBench()],
  ['storage', async () => (await import('./storage.bench.js')).runStorageBench()],
  ['nkv', async () => (await import('./nkv.bench.js')).runNKVBench()],
  ['vault', async () => (await import('./vault.bench.js')).runVaultBench()],
  ['log', async () => (await import('./log.bench.js')).runLogBench()],
  ['redis', async () => (await import('./redis.bench.js')).runRedisBench()],
  ['ramvec', async () => (await import('./ramvec.bench.js')).runRAMVecBench()],
  ['embeddings', async () => (await import('./embeddings.bench.js')).runEmbeddingsBench()],
  ['s3', async () => (await import('./s3.bench.js')).runS3Bench()],
];

async function main(): Promise<void> {
  const { only, compare } = parseArgs(process.argv.slice(2));
  // a named file is checked before the run, not after minutes of benchmarks
  if (typeof compare === 'string' && !fs.existsSync(compare)) throw new Error(`--compare: no such file ${compare}`);
  console.log(`# nestjs-sre benchmarks (node ${process.version}, ${new Date().toISOString()})`);
  for (const [name, run] of SUITES) if (!only || only === name) await run();
  printSummary();
  const earlier = compare === true ? latestResultsFile(recordedRows()) : compare;
  if (earlier !== undefined) printResultsComparison(earlier);
  else if (compare) console.warn('\n--compare: no earlier results in bench/results share a row with this run');
  console.log(`\nresults: ${benchResultsFile()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
