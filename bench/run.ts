import { runCacheBench } from './cache.bench';
import { runNKVBench } from './nkv.bench';
import { runRAMVecBench } from './ramvec.bench';
import { runRedisBench } from './redis.bench';
import { runS3Bench } from './s3.bench';
import { runStorageBench } from './storage.bench';

/**
 * `npm run bench`: every benchmark prints its numbers next to a baseline measured in the same
 * process (raw fs, a raw Map), with the ratio. Nothing here passes or fails on time.
 */
async function main(): Promise<void> {
  const only = process.argv[2];
  console.log(`# nestjs-sre benchmarks (node ${process.version}, ${new Date().toISOString()})`);
  if (!only || only === 'cache') await runCacheBench();
  if (!only || only === 'storage') await runStorageBench();
  if (!only || only === 'nkv') await runNKVBench();
  if (!only || only === 'redis') await runRedisBench();
  if (!only || only === 'ramvec') await runRAMVecBench();
  if (!only || only === 's3') await runS3Bench();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
