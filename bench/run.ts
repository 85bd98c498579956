import * as fs from 'node:fs';
import { runCacheBench } from './cache.bench';
import { runEmbeddingsBench } from './embeddings.bench';
import { runLogBench } from './log.bench';
import { runNKVBench } from './nkv.bench';
import { runRAMVecBench } from './ramvec.bench';
import { runRedisBench } from './redis.bench';
import { runS3Bench } from './s3.bench';
import { runStorageBench } from './storage.bench';
import { runVaultBench } from './vault.bench';
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

async function main(): Promise<void> {
  const { only, compare } = parseArgs(process.argv.slice(2));
  // a named file is checked before the run, not after minutes of benchmarks
  if (typeof compare === 'string' && !fs.existsSync(compare)) throw new Error(`--compare: no such file ${compare}`);
  console.log(`# nestjs-sre benchmarks (node ${process.version}, ${new Date().toISOString()})`);
  if (!only || only === 'cache') await runCacheBench();
  if (!only || only === 'storage') await runStorageBench();
  if (!only || only === 'nkv') await runNKVBench();
  if (!only || only === 'vault') await runVaultBench();
  if (!only || only === 'log') await runLogBench();
  if (!only || only === 'redis') await runRedisBench();
  if (!only || only === 'ramvec') await runRAMVecBench();
  if (!only || only === 'embeddings') await runEmbeddingsBench();
  if (!only || only === 's3') await runS3Bench();
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
