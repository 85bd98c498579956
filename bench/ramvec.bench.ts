import { VectorRows } from '../libs/sre/src/vectordb/connectors/ramvec-rows';
import { BenchResult, measure, printComparison } from './util';

const DIMENSIONS = 1536;

function randomVectors(count: number, seed = 1): Float32Array {
  const data = new Float32Array(count * DIMENSIONS);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    data[i] = state / 2 ** 31 - 0.5;
  }
  return data;
}

/** Sequential read speed of this machine, one thread (GB/s): the ceiling of an exact scan. */
function memoryBandwidth(data: Float32Array): number {
  let sum = 0;
  const started = performance.now();
  for (let pass = 0; pass < 3; pass++) for (let i = 0; i < data.length; i++) sum += data[i];
  const seconds = (performance.now() - started) / 1000;
  if (sum === 42) console.log('');
  return (data.byteLength * 3) / seconds / 1e9;
}

/**
 * RAMVec's exact scan (`VectorRows`: packed fp32, one dot product a row, a bounded top-k heap)
 * next to a plain `Float32Array` brute-force loop over the same numbers in this run, at 10k and
 * 50k vectors of 1536 dimensions: insert rate, bytes per vector, queries per second (top-10,
 * one at a time), and the bound the one-thread read speed puts on an exact scan.
 */
export async function runRAMVecBench(): Promise<void> {
  for (const count of [10_000, 50_000]) {
    const data = randomVectors(count);
    const query = randomVectors(1, 99);
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const rows = new VectorRows<number>(DIMENSIONS, undefined, count);
    const started = performance.now();
    for (let i = 0; i < count; i++) rows.add(data.subarray(i * DIMENSIONS, (i + 1) * DIMENSIONS), i);
    const insertSeconds = (performance.now() - started) / 1000;
    global.gc?.();
    const bytesPerVector = (process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heapBefore) / count;
    const subject: BenchResult = await measure(
      `RAMVec nearest top-10 (${count / 1000}k)`,
      () => rows.nearest(query, 10),
      3,
    );
    subject.notes = `insert ${Math.round(count / insertSeconds).toLocaleString('en-US')} vectors/s; ${(bytesPerVector / 1024).toFixed(2)} KB per vector${global.gc ? '' : ' (run with --expose-gc for an exact figure)'}`;
    const baseline = await measure(
      `Float32Array brute force (${count / 1000}k)`,
      () => {
        let best = -Infinity;
        for (let row = 0, offset = 0; row < count; row++, offset += DIMENSIONS) {
          let dot = 0;
          for (let i = 0; i < DIMENSIONS; i++) dot += data[offset + i] * query[i];
          if (dot > best) best = dot;
        }
        return best;
      },
      3,
    );
    const gbps = memoryBandwidth(data);
    baseline.notes = `one thread reads ${gbps.toFixed(1)} GB/s: an exact scan of ${((count * DIMENSIONS * 4) / 1e6).toFixed(0)} MB tops out near ${((gbps * 1e9) / (count * DIMENSIONS * 4)).toFixed(0)} q/s`;
    printComparison(`RAMVec exact search, ${count.toLocaleString('en-US')} x ${DIMENSIONS}`, [{ subject, baseline }]);
  }
}
