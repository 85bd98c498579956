import * as fs from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AccessCandidate } from '../libs/sre/src/security/access-candidate';
import { ACL } from '../libs/sre/src/security/acl';
import { RAMVecConnector } from '../libs/sre/src/vectordb/connectors/ramvec.connector';
import { instantiateKernels, kernelBytes, kernelModule } from '../libs/sre/src/vectordb/connectors/ramvec-kernel';
import { RAMVecPool } from '../libs/sre/src/vectordb/connectors/ramvec-pool';
import { VectorRows, type RAMVecQuantization } from '../libs/sre/src/vectordb/connectors/ramvec-rows';
import { BenchResult, measure, measureConcurrent, printComparison } from './util';

const DIMENSIONS = 1536;
const K = 10;
const QUERIES = 16;
const SECONDS = 2;

function randomVectors(count: number, seed = 1): Float32Array {
  const data = new Float32Array(count * DIMENSIONS);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    data[i] = state / 2 ** 31 - 0.5;
  }
  return data;
}

/** The exact top-k ids in double precision, straight over the inserted fp32 numbers. */
function exactTopK(data: Float32Array, count: number, query: Float32Array, k: number): number[] {
  let qq = 0;
  for (let i = 0; i < DIMENSIONS; i++) qq += query[i] * query[i];
  const scored: { id: number; score: number }[] = [];
  for (let row = 0, offset = 0; row < count; row++, offset += DIMENSIONS) {
    let dot = 0,
      aa = 0;
    for (let i = 0; i < DIMENSIONS; i++) {
      dot += data[offset + i] * query[i];
      aa += data[offset + i] * data[offset + i];
    }
    scored.push({ id: row, score: dot * (1 / Math.sqrt(aa)) * (1 / Math.sqrt(qq)) });
  }
  return scored
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k)
    .map(({ id }) => id);
}

const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const { memory, kernel, from, bytes, passes } = workerData;
const read = new WebAssembly.Instance(new WebAssembly.Module(kernel), { env: { memory } }).exports.read;
read(from, bytes);
parentPort.postMessage('ready');
parentPort.once('message', () => {
  const started = performance.now();
  for (let pass = 0; pass < passes; pass++) read(from, bytes);
  parentPort.postMessage(performance.now() - started);
});
`;

/** How fast `threads` threads stream `bytes` of memory with the SIMD read loop (GB/s, all threads together). */
async function memoryBandwidth(bytes: number, threads: number, passes = 6): Promise<number> {
  const pages = Math.ceil(bytes / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  new Uint8Array(memory.buffer).fill(1);
  if (threads === 1) {
    const { read } = instantiateKernels(memory, kernelModule(16));
    read(0, bytes);
    const started = performance.now();
    for (let pass = 0; pass < passes; pass++) read(0, bytes);
    return (bytes * passes) / ((performance.now() - started) / 1000) / 1e9;
  }
  const slice = Math.floor(bytes / threads / 64) * 64;
  const workers = Array.from(
    { length: threads },
    (_, i) =>
      new Worker(READER, {
        eval: true,
        workerData: { memory, kernel: kernelBytes(16), from: i * slice, bytes: slice, passes },
      }),
  );
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('message', resolve))));
  const started = performance.now();
  const done = workers.map((worker) => new Promise((resolve) => worker.once('message', resolve)));
  workers.forEach((worker) => worker.postMessage('go'));
  await Promise.all(done);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((worker) => worker.terminate()));
  return (slice * threads * passes) / seconds / 1e9;
}

function bruteForce(data: Float32Array, count: number, queries: Float32Array[]): (i: number) => number {
  return (i) => {
    const query = queries[i % queries.length];
    let best = -Infinity;
    for (let row = 0, offset = 0; row < count; row++, offset += DIMENSIONS) {
      let dot = 0;
      for (let d = 0; d < DIMENSIONS; d++) dot += data[offset + d] * query[d];
      if (dot > best) best = dot;
    }
    return best;
  };
}

/**
 * RAMVec's search (WASM SIMD kernel over a shared `WebAssembly.Memory`, scanned by a pool of
 * worker threads, concurrent searches batched into one pass, exact double-precision rescore) at
 * 10k and 50k vectors of 1536 dimensions, in each row format: insert rate, bytes per vector,
 * queries per second one at a time and from 8 concurrent callers, recall@10 against the exact
 * answer; next to a plain `Float32Array` brute-force loop and the memory read speed of this
 * machine measured in the same run (a pass reads every scanned byte once: 2 a value for none
 * and bf16, 1 for int8).
 */
export async function runRAMVecBench(): Promise<void> {
  const threads = availableParallelism();
  const pool = new RAMVecPool(threads);
  try {
    for (const count of [10_000, 50_000]) {
      const data = randomVectors(count);
      const queries = Array.from({ length: QUERIES }, (_, i) => randomVectors(1, 99 + i));
      const truth = queries.map((query) => exactTopK(data, count, query, K));
      const scanBytes = count * (DIMENSIONS * 4 + 16);
      const oneThread = await memoryBandwidth(scanBytes, 1);
      const allThreads = await memoryBandwidth(scanBytes, threads);
      const baseline = await measure(
        `Float32Array brute force (${count / 1000}k, 1 thread)`,
        bruteForce(data, count, queries),
        SECONDS,
      );
      baseline.notes =
        `memory read ${oneThread.toFixed(1)} GB/s on 1 thread, ${allThreads.toFixed(1)} GB/s on ${threads}: ` +
        `a whole-fp32 pass over ${(scanBytes / 1e6).toFixed(0)} MB tops out near ${((allThreads * 1e9) / scanBytes).toFixed(0)} passes/s ` +
        `(none and bf16 read 2 bytes a value: ${((2 * allThreads * 1e9) / scanBytes).toFixed(0)}; int8 1: ${((4 * allThreads * 1e9) / scanBytes).toFixed(0)})`;
      const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [];
      for (const quantization of ['none', 'int8', 'bf16'] as RAMVecQuantization[]) {
        global.gc?.();
        const rssBefore = process.memoryUsage.rss();
        const vectors = new VectorRows<number>(DIMENSIONS, undefined, { pool, quantization });
        const started = performance.now();
        for (let i = 0; i < count; i++) vectors.add(data.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS), i);
        const insertSeconds = (performance.now() - started) / 1000;
        // memories left behind by growth are garbage now: count what stays
        global.gc?.();
        const rssPerVector = (process.memoryUsage.rss() - rssBefore) / count / 1024;
        let hits = 0;
        for (let i = 0; i < QUERIES; i++) {
          const found = new Set((await vectors.nearest(queries[i], K)).map((hit) => hit.payload));
          hits += truth[i].filter((id) => found.has(id)).length;
        }
        const recall = hits / (QUERIES * K);
        const single = await measure(
          `RAMVec ${quantization} top-${K} (${count / 1000}k, 1 caller)`,
          (i) => vectors.nearest(queries[i % QUERIES], K),
          SECONDS,
        );
        single.notes =
          `recall@${K} ${recall.toFixed(3)}; insert ${Math.round(count / insertSeconds).toLocaleString('en-US')} vectors/s; ` +
          `${(vectors.byteLength / count / 1024).toFixed(2)} KB per vector (RSS +${rssPerVector.toFixed(2)} KB)`;
        const concurrent = await measureConcurrent(
          `RAMVec ${quantization} top-${K} (${count / 1000}k, 8 callers)`,
          (i) => vectors.nearest(queries[i % QUERIES], K),
          8,
          SECONDS,
        );
        concurrent.notes = `8 concurrent callers, batched into shared passes; recall@${K} ${recall.toFixed(3)}`;
        rows.push({ subject: single, baseline }, { subject: concurrent, baseline });
        vectors.dispose();
      }
      printComparison(`RAMVec search, ${count.toLocaleString('en-US')} x ${DIMENSIONS} (${threads} workers)`, rows);
    }
    await crossover(pool);
    await snapshotSaveLoad();
  } finally {
    await pool.close();
  }
}

/** Where handing a scan to the workers starts to pay: the same namespace scanned both ways. */
async function crossover(pool: RAMVecPool): Promise<void> {
  const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [];
  for (const count of [500, 1000, 2000, 4000, 8000]) {
    const data = randomVectors(count, 5);
    const query = randomVectors(1, 6);
    const here = new VectorRows<number>(DIMENSIONS, undefined, { workerThreshold: Infinity });
    const workers = new VectorRows<number>(DIMENSIONS, undefined, { pool, workerThreshold: 0 });
    for (let i = 0; i < count; i++) {
      here.add(data.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS), i);
      workers.add(data.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS), i);
    }
    const subject = await measure(`workers (${count} vectors)`, () => workers.nearest(query, K), 1);
    const baseline = await measure(`main thread (${count} vectors)`, () => here.nearest(query, K), 1);
    rows.push({ subject, baseline });
    here.dispose();
    workers.dispose();
  }
  printComparison(
    `RAMVec worker hop vs main thread, fp32 x ${DIMENSIONS}, 1 caller (ratio > 1: the workers pay)`,
    rows,
  );
}

/**
 * RAMVec's snapshot of 50k x 1536 (raw fp32 blocks, sha256, temp file + fsync + rename), saved on
 * disconnect and loaded by a fresh connector, against writing (with fsync) and reading the same
 * number of bytes as one plain file: what the format costs over the disk itself.
 */
export async function snapshotSaveLoad(count = 50_000): Promise<void> {
  const data = randomVectors(count, 7);
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'ramvec-bench-'));
  const file = path.join(dir, 'vectors.snap');
  let next = 0;
  // hands out the prepared vectors in order: the bench measures the snapshot, not an embedder
  const embedder = {
    dimensions: DIMENSIONS,
    embed: async (texts: string[]) =>
      texts.map(() => {
        const at = next++ % count;
        return Array.from(data.subarray(at * DIMENSIONS, (at + 1) * DIMENSIONS));
      }),
  };
  const settings = { workers: 0, chunkSize: 64, chunkOverlap: 0, snapshot: { path: file, intervalSeconds: 0 } };
  const owner = AccessCandidate.team('bench');
  const ns = { name: 'docs', key: 't_bench_docs', owner };
  try {
    const writer = new RAMVecConnector(settings, undefined, embedder);
    await writer.connect();
    await writer.createNamespace(ns, {
      namespace: ns.key,
      displayName: ns.name,
      candidateId: owner.id,
      candidateRole: owner.role,
      metadata: {},
      acl: new ACL().grant(owner, 'owner'),
    });
    // words of 60 characters with chunkSize 64: one chunk (one vector) a word
    const words = Array.from({ length: 1000 }, (_, i) => `${i}`.padStart(59, 'w')).join(' ');
    for (let d = 0; writer.size < count; d++)
      await writer.upsertDatasource(ns, {
        id: `d${d}`,
        label: `d${d}`,
        text: words,
        metadata: { d },
        returnFullVectorInfo: false,
        acl: new ACL(),
      });
    const vectors = writer.size;
    global.gc?.();
    let started = performance.now();
    await writer.disconnect();
    const saveSeconds = (performance.now() - started) / 1000;
    const bytes = fs.statSync(file).size;
    global.gc?.();
    const reader = new RAMVecConnector(settings, undefined, embedder);
    started = performance.now();
    await reader.connect();
    const loadSeconds = (performance.now() - started) / 1000;
    if (reader.size !== vectors) throw new Error(`loaded ${reader.size} of ${vectors} vectors`);
    await reader.disconnect();

    const raw = Buffer.alloc(bytes, 1);
    const rawFile = path.join(dir, 'raw.bin');
    started = performance.now();
    const handle = await fs.promises.open(rawFile, 'w');
    await handle.writeFile(raw);
    await handle.sync();
    await handle.close();
    const rawWrite = (performance.now() - started) / 1000;
    started = performance.now();
    await fs.promises.readFile(rawFile);
    const rawRead = (performance.now() - started) / 1000;
    const one = (name: string, seconds: number, notes?: string): BenchResult => ({
      name,
      ops: 1,
      seconds,
      opsPerSecond: 1 / seconds,
      notes,
    });
    const mb = (bytes / 1e6).toFixed(0);
    printComparison(
      `RAMVec snapshot, ${vectors.toLocaleString('en-US')} x ${DIMENSIONS} (ratio < 1: slower than the raw file)`,
      [
        {
          subject: one(`save on disconnect (${mb} MB)`, saveSeconds, `${saveSeconds.toFixed(2)} s`),
          baseline: one('raw write + fsync of as many bytes', rawWrite, `${rawWrite.toFixed(2)} s`),
        },
        {
          subject: one(`load on connect (${mb} MB)`, loadSeconds, `${loadSeconds.toFixed(2)} s`),
          baseline: one('raw readFile of as many bytes', rawRead, `${rawRead.toFixed(2)} s`),
        },
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
