import type { Kernels, RowEncoding } from './ramvec-kernel';

/** What one scan of a slice of rows needs: addresses in the namespace's memory and the batch. */
export interface SliceParams {
  encoding: RowEncoding;
  rowsBase: number;
  stride: number;
  rowBytes: number;
  /** Rows [from, to) of the namespace. */
  from: number;
  to: number;
  /**
   * Address of the pass's chunk counter (a Uint32 its scanners share), or -1 for all of
   * [from, to) in one go: each scanner claims `chunk` rows at a time until none are left, so one
   * that starts late (a sleeping thread's wake) scans less instead of holding the pass up. The
   * counter holds the pass's `tag` (high 12 bits) and the next chunk's index (low 20).
   */
  claims: number;
  tag: number;
  chunk: number;
  /** Address of the batch's queries (packed, already encoded for the kernel; room for one spare). */
  queries: number;
  nq: number;
  /** Scratch for one block's scores (block * nq * 4 bytes), private to this scanner. */
  out: number;
  block: number;
  k: number;
  /** Per query: the factor that turns `raw * rowFactor` into an approximate cosine. */
  qFactor: number[];
  /**
   * Per query: the bound on |approximate - exact cosine| of a row is
   * `deltaBase + deltaScale * rowError`, rowError being the f32 after the row's factor: how far
   * the values the kernel multiplies are from the row's, relative to its norm (int8: its
   * quantization; bf16 and f32: see `bf16KernelError`).
   */
  deltaBase: number[];
  deltaScale: number[];
  /** Per query: rows allowed by a filter (1 = allowed), or null for all rows. */
  masks: (Uint8Array | null)[];
}

/** Per query: rows whose exact score could still reach the slice's top-k, with bounds on it. */
export interface SliceCandidates {
  rows: number[];
  lowers: number[];
  uppers: number[];
}

/**
 * The slice scan, as JavaScript source: the worker script embeds this text, and the main thread
 * builds its own copy from the same text, so the two can never drift apart. It is a string (not
 * a function's `toString()`) because coverage tools rewrite function bodies with counters that do
 * not exist inside a worker.
 *
 * Per query it keeps the k best lower bounds (approximate score - its error bound) in a min-heap,
 * and every row whose upper bound reaches the heap's minimum: the true k-th best is at least the
 * global k-th lower bound, so every row that could be in the top-k exactly is in some slice's
 * list, and the exact rescore on the main thread misses nothing.
 */
export const SCAN_SOURCE = String.raw`
function scanSlice(kernels, buffer, p) {
  // one query streams row by row (see the kernels' oneRow); a batch takes 4 rows a pass, bf16
  // through the pair kernel (an odd batch scores one spare query slot, unread)
  var pairs = p.encoding === 'bf16' && p.nq > 1;
  var single = p.nq === 1;
  var kernel = p.encoding === 'int8'
    ? (single ? kernels.int8r1 : kernels.int8r4)
    : (single ? kernels.bf16r1 : kernels.bf16x2);
  var width = pairs && p.nq % 2 === 1 ? p.nq + 1 : p.nq;
  var factors = new Float32Array(buffer);
  var out = p.encoding === 'int8'
    ? new Int32Array(buffer, p.out, p.block * width)
    : new Float32Array(buffer, p.out, p.block * width);
  var nq = p.nq, k = p.k, strideF = p.stride >> 2, factorAt = (p.rowsBase + p.rowBytes) >> 2;
  var heapRows = [], heapScores = [], sizes = new Int32Array(nq), floors = new Float64Array(nq);
  var lists = [];
  for (var j = 0; j < nq; j++) {
    heapRows.push(new Int32Array(k));
    heapScores.push(new Float64Array(k));
    floors[j] = -Infinity;
    lists.push({ rows: [], lowers: [], uppers: [] });
  }
  // rows [b, end) are this scanner's; with a counter it claims the next chunk when they run out
  var counter = p.claims >= 0 ? new Uint32Array(buffer, p.claims, 1) : null;
  var b = p.from, end = counter === null ? p.to : p.from;
  for (;;) {
    if (b >= end) {
      var index = counter === null ? -1 : claim(counter, p.tag, Math.ceil((p.to - p.from) / p.chunk));
      if (index < 0) break;
      b = p.from + index * p.chunk;
      end = Math.min(p.to, b + p.chunk);
    }
    var n = Math.min(p.block, end - b);
    kernel(p.rowsBase + b * p.stride, n, p.stride, p.rowBytes, p.queries, width, p.out);
    for (var j = 0; j < nq; j++) {
      var mask = p.masks[j], qf = p.qFactor[j], db = p.deltaBase[j], ds = p.deltaScale[j], list = lists[j];
      var hr = heapRows[j], hs = heapScores[j], size = sizes[j], floor = floors[j];
      for (var i = 0; i < n; i++) {
        var row = b + i;
        if (mask !== null && mask[row] === 0) continue;
        var at = factorAt + row * strideF;
        var approx = out[i * width + j] * factors[at] * qf;
        var delta = db + ds * factors[at + 1];
        if (approx + delta < floor) continue;
        var s = approx - delta;
        list.rows.push(row);
        list.lowers.push(s);
        list.uppers.push(approx + delta);
        if (size < k) {
          var c = size++;
          while (c > 0) {
            var parent = (c - 1) >> 1;
            if (hs[parent] <= s) break;
            hr[c] = hr[parent]; hs[c] = hs[parent]; c = parent;
          }
          hr[c] = row; hs[c] = s;
          if (size === k) floor = hs[0];
        } else if (s > hs[0]) {
          var c = 0;
          for (;;) {
            var left = 2 * c + 1;
            if (left >= size) break;
            var child = left + 1 < size && hs[left + 1] < hs[left] ? left + 1 : left;
            if (hs[child] >= s) break;
            hr[c] = hr[child]; hs[c] = hs[child]; c = child;
          }
          hr[c] = row; hs[c] = s;
          floor = hs[0];
        }
      }
      sizes[j] = size;
      floors[j] = floor;
      if (list.rows.length > 4 * k + 1024) lists[j] = prune(list, floor);
    }
    b += n;
  }
  var result = [];
  for (var j = 0; j < nq; j++) result.push(prune(lists[j], floors[j]));
  return result;
}
// The next chunk of the pass with this tag, or -1 when none is left or the counter is another
// pass's (a scanner of a failed pass may still run when the next starts: a compare-and-swap never
// moves that pass's counter, where an add would take one of its chunks away)
function claim(counter, tag, chunks) {
  for (;;) {
    var value = Atomics.load(counter, 0);
    var index = value & 0xfffff;
    if (value >>> 20 !== tag || index >= chunks) return -1;
    if (Atomics.compareExchange(counter, 0, value, value + 1) === value) return index;
  }
}
function prune(list, floor) {
  var rows = [], lowers = [], uppers = [];
  for (var i = 0; i < list.rows.length; i++)
    if (list.uppers[i] >= floor) {
      rows.push(list.rows[i]);
      lowers.push(list.lowers[i]);
      uppers.push(list.uppers[i]);
    }
  return { rows: rows, lowers: lowers, uppers: uppers };
}
`;

export type ScanSlice = (kernels: Kernels, buffer: ArrayBufferLike, params: SliceParams) => SliceCandidates[];

let mainThreadScan: ScanSlice | undefined;

/** The main thread's copy of the slice scan (see SCAN_SOURCE for why it is built from text). */
export function scanSlice(kernels: Kernels, buffer: ArrayBufferLike, params: SliceParams): SliceCandidates[] {
  mainThreadScan ??= new Function(`${SCAN_SOURCE}\nreturn scanSlice;`)() as ScanSlice;
  return mainThreadScan(kernels, buffer, params);
}
