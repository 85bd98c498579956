import type { Prepared } from './ramvec-codec';
import { BLOCK, type RowMemory } from './ramvec-memory';
import type { SliceCandidates, SliceParams } from './ramvec-scan';

/** The double-precision cosine of a stored row and the query (the reference every answer matches). */
export function exactScore(rows: RowMemory, row: number, prepared: Prepared): number {
  const q = prepared.values;
  const values = rows.exact(row);
  let dot = 0;
  for (let i = 0; i < values.length; i++) dot += values[i] * q[i];
  return dot * rows.inverseNorms[row] * prepared.invQ;
}

/** Per row of `count`: 1 when `only` accepts its payload (shared memory for the workers); null without `only`. */
export function rowMask<P>(
  payloads: P[],
  only: ((payload: P) => boolean) | undefined,
  count: number,
  shared: boolean,
): Uint8Array | null {
  if (!only) return null;
  const mask = new Uint8Array(shared ? new SharedArrayBuffer(count) : new ArrayBuffer(count));
  for (let row = 0; row < count; row++) mask[row] = only(payloads[row]) ? 1 : 0;
  return mask;
}

/** What a scan of rows [from, to) for the batch needs, its queries at `queries`, its scores at `out`. */
export function sliceParams(
  rows: RowMemory,
  from: number,
  to: number,
  queries: number,
  out: number,
  batch: { prepared: Prepared; k: number }[],
  masks: (Uint8Array | null)[],
): SliceParams {
  return {
    encoding: rows.scan,
    rowsBase: rows.rowsBase,
    stride: rows.stride,
    rowBytes: rows.rowBytes,
    from,
    to,
    claims: -1,
    tag: 0,
    chunk: BLOCK,
    queries,
    nq: batch.length,
    out,
    block: BLOCK,
    k: Math.max(...batch.map((entry) => entry.k)),
    qFactor: batch.map((entry) => entry.prepared.qFactor),
    deltaBase: batch.map((entry) => entry.prepared.deltaBase),
    deltaScale: batch.map((entry) => entry.prepared.deltaScale),
    masks,
  };
}

/**
 * Every candidate whose upper bound reaches the k-th best lower bound (the true k-th score is
 * at least that), rescored exactly; the best k of them (ties by row, lowest first) are the answer.
 */
export function rescoreCandidates(
  rows: RowMemory,
  prepared: Prepared,
  k: number,
  slices: SliceCandidates[],
): { row: number; score: number }[] {
  const lowers: number[] = [];
  for (const slice of slices) for (const lower of slice.lowers) lowers.push(lower);
  let floor = -Infinity;
  if (lowers.length > k) {
    lowers.sort((a, b) => b - a);
    floor = lowers[k - 1];
  }
  const hits: { row: number; score: number }[] = [];
  for (const slice of slices)
    for (let i = 0; i < slice.rows.length; i++)
      if (slice.uppers[i] >= floor) hits.push({ row: slice.rows[i], score: exactScore(rows, slice.rows[i], prepared) });
  hits.sort((a, b) => b.score - a.score || a.row - b.row);
  return hits.slice(0, k);
}
