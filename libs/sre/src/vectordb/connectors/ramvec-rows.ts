import type { SreErrorSource } from '../../core/errors';
import { SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import { instantiateKernels, kernelModule, queryBytes, type Kernels, type RowEncoding } from './ramvec-kernel';
import type { RAMVecPool } from './ramvec-pool';
import { scanSlice, type SliceCandidates, type SliceParams } from './ramvec-scan';

/**
 * One nearest row: its index when the search ended, its cosine similarity to the query, and its
 * payload and values as they were then (a removal right after may move the row).
 */
export interface RowHit<P = unknown> {
  row: number;
  score: number;
  payload: P;
  values: number[];
}

/**
 * How rows are kept: `none` fp32 (exact); `int8` an int8 copy scanned, then the fp32 originals
 * rescored (exact, more memory, less read per query); `bf16` bf16 only (half the memory, exact
 * over the rounded vectors, lossy against the inserted ones).
 */
export type RAMVecQuantization = 'none' | 'int8' | 'bf16';

export interface VectorRowsOptions {
  source?: SreErrorSource;
  /** Rows to make room for up front. */
  capacity?: number;
  quantization?: RAMVecQuantization;
  /** Workers to scan large namespaces with; without, every scan runs on the calling thread. */
  pool?: RAMVecPool;
  /**
   * Rows from which a search goes to the pool; smaller namespaces stay on the calling thread
   * (default: 16 MB of rows, ~2,700 vectors of 1536 dimensions in fp32).
   */
  workerThreshold?: number;
}

/** Rows scored per kernel call: 256 rows x 16 queries of scores fit L1 beside the rows. */
const BLOCK = 256;
/** Queries that share one pass over memory. */
const MAX_BATCH = 16;
const PAGE = 65_536;
const MAX_PAGES = 65_536;
const U = 2 ** -24;
/**
 * Row bytes from which the worker hop pays. Measured here at 1536 dimensions, fp32, on a busy
 * 2-core machine: the main thread wins up to 2,000 rows (12 MB, still in L3), the workers from
 * about 4,000; bench/ramvec.bench.ts prints the crossover.
 */
const WORKER_THRESHOLD_BYTES = 16 * 2 ** 20;
/** Rows per chunk of int8's fp32 originals. */
const CHUNK = 1024;

let nextUid = 0;

interface Prepared {
  values: ArrayLike<number>;
  invQ: number;
  encoded: Float32Array | Int8Array;
  qFactor: number;
  /** |approximate - exact cosine| <= deltaBase + deltaScale * the row's stored error. */
  deltaBase: number;
  deltaScale: number;
}

interface Pending {
  prepared: Prepared;
  k: number;
  only?: (payload: unknown) => boolean;
  retries: number;
  resolve: (hits: RowHit<any>[]) => void;
  reject: (error: Error) => void;
}

/**
 * The vectors of one namespace, row after row in one shared `WebAssembly.Memory` (the layout the
 * SIMD kernels read, which the pool's workers see without a copy), each row's inverse norm
 * beside it. Rows are removed by moving the last row into the hole: a scan never walks over gaps.
 *
 * A search is exact: the kernel's fp32 (or int8) scores pick candidates, and every candidate
 * whose error bound could put it in the top-k is rescored in double precision, so the answer is
 * the one a double-precision brute force gives (ties by row, lowest first). Searches that arrive
 * while a pass over a large namespace runs share the next pass: the memory is read once for all.
 */
export class VectorRows<P> {
  readonly quantization: RAMVecQuantization;
  private readonly source?: SreErrorSource;
  private readonly pool?: RAMVecPool;
  private readonly workerThreshold: number;
  private readonly encoding: RowEncoding;
  private readonly padded: number;
  private readonly rowBytes: number;
  private readonly stride: number;
  private readonly qBytes: number;
  private readonly mainQuery: number;
  private readonly mainOut: number;
  private readonly poolQueries: number;
  private readonly lanes: number[] = [];
  private readonly rowsBase: number;
  private readonly uid = nextUid++;

  private memory: WebAssembly.Memory;
  private maxPages: number;
  private generation = 0;
  private kernels?: Kernels;
  private view: { buffer?: ArrayBufferLike; u8: Uint8Array; f32: Float32Array; u16: Uint16Array; i8: Int8Array };
  private inverseNorms: Float64Array;
  /** int8 only: the fp32 rows the exact rescore reads. */
  private originals?: Float32Array[];
  private readonly payloads: P[] = [];
  private count = 0;
  /** Bumped by every removal: a pass that saw one started over moved rows and runs again. */
  private epoch = 0;
  private readonly pending: Pending[] = [];
  private scanning = false;
  private disposed = false;

  constructor(
    readonly dimensions: number,
    source?: SreErrorSource,
    options: number | VectorRowsOptions = {},
  ) {
    const settings = typeof options === 'number' ? { capacity: options } : options;
    this.source = source ?? settings.source;
    this.pool = settings.pool;
    this.quantization = settings.quantization ?? 'none';
    this.encoding = this.quantization === 'none' ? 'f32' : this.quantization;
    this.padded = Math.ceil(dimensions / 32) * 32;
    this.rowBytes =
      this.encoding === 'f32' ? this.padded * 4 : this.encoding === 'bf16' ? this.padded * 2 : this.padded;
    // 16 bytes after each row: its f32 score factor and (int8) its relative quantization error,
    // keeping every row 16-byte aligned
    this.stride = this.rowBytes + 16;
    this.qBytes = queryBytes(this.encoding, this.rowBytes);
    let at = 0;
    this.mainQuery = at;
    at += this.qBytes;
    this.mainOut = at;
    at += BLOCK * 4;
    this.poolQueries = at;
    at += MAX_BATCH * this.qBytes;
    for (let lane = 0; lane < (this.pool?.size ?? 0); lane++) {
      this.lanes.push(at);
      at += BLOCK * MAX_BATCH * 4;
    }
    this.rowsBase = Math.ceil(at / 64) * 64;
    this.workerThreshold = settings.workerThreshold ?? Math.ceil(WORKER_THRESHOLD_BYTES / this.stride);
    const capacity = Math.max(16, settings.capacity ?? 16);
    const pages = this.pagesFor(capacity);
    this.maxPages = Math.min(MAX_PAGES, Math.max(256, pages * 4));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: this.maxPages, shared: true });
    this.view = this.views();
    this.inverseNorms = new Float64Array(capacity);
    if (this.encoding === 'int8') this.originals = [];
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held for the rows (memory, norms, originals), payloads aside. */
  get byteLength(): number {
    return (
      this.memory.buffer.byteLength +
      this.inverseNorms.byteLength +
      (this.originals?.length ?? 0) * CHUNK * this.dimensions * 4
    );
  }

  payload(row: number): P {
    return this.payloads[row];
  }

  /** The row's values, as stored (fp32; for bf16, the rounded values). */
  values(row: number): number[] {
    const out = new Array<number>(this.dimensions);
    for (let i = 0; i < this.dimensions; i++) out[i] = this.value(row, i);
    return out;
  }

  /**
   * Copies the row's values into `into` at `offset` as fp32 (for bf16, the rounded values, which
   * read back to the same bf16): what a snapshot saves, without a `number[]` per row.
   */
  copyValues(row: number, into: Float32Array, offset = 0): void {
    if (this.encoding === 'int8') return into.set(this.original(row), offset);
    const base = this.rowsBase + row * this.stride;
    if (this.encoding === 'f32') return into.set(this.view.f32.subarray(base / 4, base / 4 + this.dimensions), offset);
    const u16 = this.view.u16;
    for (let i = 0; i < this.dimensions; i++) into[offset + i] = fromBf16(u16[base / 2 + i]);
  }

  /** Appends a row; returns its index (valid until a removal moves it). */
  add(values: ArrayLike<number>, payload: P): number {
    this.check(values);
    this.usable();
    this.ensure(this.count + 1);
    const row = this.count;
    const { dimensions } = this;
    const base = this.rowsBase + row * this.stride;
    const { u8, f32, u16, i8 } = this.view;
    u8.fill(0, base, base + this.stride);
    let squares = 0;
    let factor: number;
    if (this.encoding === 'int8') {
      const originals = this.original(row);
      const offset = 0;
      let largest = 0;
      for (let i = 0; i < dimensions; i++) {
        const value = Math.fround(values[i]);
        originals[offset + i] = value;
        squares += value * value;
        largest = Math.max(largest, Math.abs(value));
      }
      const scale = largest / 127;
      const inverseScale = scale > 0 ? 1 / scale : 0;
      let error = 0;
      for (let i = 0; i < dimensions; i++) {
        const value = originals[offset + i];
        const scaled = value * inverseScale;
        // any code is sound (the error below is measured on the code taken); round half away
        let code = (scaled + (scaled >= 0 ? 0.5 : -0.5)) | 0;
        if (code > 127) code = 127;
        else if (code < -127) code = -127;
        i8[base + i] = code;
        const residual = value - code * scale;
        error += residual * residual;
      }
      const inverse = squares > 0 ? 1 / Math.sqrt(squares) : 0;
      // the row's relative quantization error |a - a'| / |a|, rounded up on its way to f32
      f32[(base + this.rowBytes) / 4 + 1] = Math.sqrt(error) * inverse * (1 + 2 ** -20);
      factor = scale * inverse;
      this.inverseNorms[row] = inverse;
    } else {
      const at = base / (this.encoding === 'f32' ? 4 : 2);
      for (let i = 0; i < dimensions; i++) {
        let value: number;
        if (this.encoding === 'f32') {
          value = Math.fround(values[i]);
          f32[at + i] = value;
        } else {
          u16[at + i] = toBf16(values[i]);
          value = fromBf16(u16[at + i]);
        }
        squares += value * value;
      }
      // a zero vector scores 0 against everything
      factor = this.inverseNorms[row] = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    }
    f32[(base + this.rowBytes) / 4] = factor;
    this.payloads[row] = payload;
    this.count++;
    return row;
  }

  /** Removes every row whose payload matches, keeping the rows packed. */
  removeWhere(match: (payload: P) => boolean): number {
    let removed = 0;
    const { u8 } = this.view;
    for (let row = this.count - 1; row >= 0; row--) {
      if (!match(this.payloads[row])) continue;
      const last = --this.count;
      if (row !== last) {
        const from = this.rowsBase + last * this.stride;
        u8.copyWithin(this.rowsBase + row * this.stride, from, from + this.stride);
        this.inverseNorms[row] = this.inverseNorms[last];
        if (this.originals) this.original(row).set(this.original(last));
        this.payloads[row] = this.payloads[last];
      }
      this.payloads.length = last;
      removed++;
    }
    if (removed > 0) this.epoch++;
    return removed;
  }

  /**
   * The `k` rows nearest to `query` by cosine similarity, best first (exact: every row is scored);
   * with `only`, among the rows whose payload it accepts.
   */
  async nearest(query: ArrayLike<number>, k: number, only?: (payload: P) => boolean): Promise<RowHit<P>[]> {
    this.check(query);
    this.usable();
    if (k <= 0 || this.count === 0) return [];
    const prepared = this.prepare(query);
    if (prepared.invQ === 0) return this.zeroQuery(k, only);
    if (!this.pool?.usable || this.count < this.workerThreshold) return this.scanHere(prepared, k, only);
    return new Promise<RowHit<P>[]>((resolve, reject) => {
      this.pending.push({ prepared, k, only: only as Pending['only'], retries: 0, resolve, reject });
      this.pump();
    });
  }

  /** Stops taking searches: those waiting fail, and the workers let go of this memory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const error = new SreUnavailableError('the namespace was dropped or its connector disconnected', this.source);
    this.pending.splice(0).forEach((waiting) => waiting.reject(error));
    this.pool?.detach(this.key());
  }

  private key(): string {
    return `${this.uid}:${this.generation}`;
  }

  private usable(): void {
    if (this.disposed)
      throw new SreUnavailableError('the namespace was dropped or its connector disconnected', this.source);
  }

  /** int8 only: the fp32 row, in chunks of CHUNK rows (growing never copies them). */
  private original(row: number): Float32Array {
    const at = (row % CHUNK) * this.dimensions;
    return this.originals![Math.floor(row / CHUNK)].subarray(at, at + this.dimensions);
  }

  private value(row: number, i: number): number {
    if (this.encoding === 'int8') return this.original(row)[i];
    const base = this.rowsBase + row * this.stride;
    if (this.encoding === 'f32') return this.view.f32[base / 4 + i];
    return fromBf16(this.view.u16[base / 2 + i]);
  }

  /** The double-precision cosine of a stored row and the query (the reference every answer matches). */
  private exactScore(row: number, prepared: Prepared): number {
    const q = prepared.values;
    let dot = 0;
    if (this.encoding === 'int8') {
      const originals = this.original(row);
      for (let i = 0; i < this.dimensions; i++) dot += originals[i] * q[i];
    } else if (this.encoding === 'f32') {
      const f32 = this.view.f32;
      const offset = (this.rowsBase + row * this.stride) / 4;
      for (let i = 0; i < this.dimensions; i++) dot += f32[offset + i] * q[i];
    } else {
      const u16 = this.view.u16;
      const offset = (this.rowsBase + row * this.stride) / 2;
      for (let i = 0; i < this.dimensions; i++) dot += fromBf16(u16[offset + i]) * q[i];
    }
    return dot * this.inverseNorms[row] * prepared.invQ;
  }

  /**
   * The query as the kernel reads it, and how far the kernel's approximate cosine can be from
   * the exact one: fp32 sums of `padded` products stay within (padded + 16) units of fp32
   * rounding of |row| |query|; int8 within the rows' and the query's relative quantization errors.
   */
  private prepare(query: ArrayLike<number>): Prepared {
    let squares = 0;
    for (let i = 0; i < this.dimensions; i++) squares += query[i] * query[i];
    const invQ = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    if (this.encoding !== 'int8') {
      const encoded = new Float32Array(this.padded);
      if (this.encoding === 'f32') for (let i = 0; i < this.dimensions; i++) encoded[i] = query[i];
      // bf16: each 8 values as the kernel pairs them, evens then odds
      else for (let i = 0; i < this.dimensions; i++) encoded[(i & ~7) + ((i & 1) << 2) + ((i & 7) >> 1)] = query[i];
      const delta = (this.padded + 16) * U * 1.01 + 1e-12;
      return { values: query, invQ, encoded, qFactor: invQ, deltaBase: delta, deltaScale: 0 };
    }
    let largest = 0;
    for (let i = 0; i < this.dimensions; i++) largest = Math.max(largest, Math.abs(query[i]));
    const scale = largest / 127;
    const encoded = new Int8Array(this.padded);
    let error = 0;
    for (let i = 0; i < this.dimensions; i++) {
      const code = scale > 0 ? Math.max(-127, Math.min(127, Math.round(query[i] / scale))) : 0;
      encoded[i] = code;
      error += (query[i] - code * scale) ** 2;
    }
    const epsilon = Math.sqrt(error) * invQ;
    // |a.q - a'.q'| <= |a - a'| |q| + |a'| |q - q'|, with |a'| <= |a| (1 + rho): per unit of
    // |a| |q|, rho + (1 + rho) epsilon; 1e-6 covers the f32 roundings of the factors
    return {
      values: query,
      invQ,
      encoded,
      qFactor: scale * invQ,
      deltaBase: epsilon * 1.001 + 1e-6,
      deltaScale: (1 + epsilon) * 1.001,
    };
  }

  private writeQuery(at: number, prepared: Prepared): void {
    if (prepared.encoded instanceof Int8Array) this.view.i8.set(prepared.encoded, at);
    else this.view.f32.set(prepared.encoded, at / 4);
  }

  private mask(only: ((payload: P) => boolean) | undefined, count: number, shared: boolean): Uint8Array | null {
    if (!only) return null;
    const mask = new Uint8Array(shared ? new SharedArrayBuffer(count) : new ArrayBuffer(count));
    for (let row = 0; row < count; row++) mask[row] = only(this.payloads[row]) ? 1 : 0;
    return mask;
  }

  private params(
    from: number,
    to: number,
    queries: number,
    out: number,
    batch: { prepared: Prepared; k: number }[],
    masks: (Uint8Array | null)[],
  ): SliceParams {
    return {
      encoding: this.encoding,
      rowsBase: this.rowsBase,
      stride: this.stride,
      rowBytes: this.rowBytes,
      from,
      to,
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

  /** One query on this thread: the namespace is too small for a worker hop to pay. */
  private scanHere(prepared: Prepared, k: number, only?: (payload: P) => boolean): RowHit<P>[] {
    const count = this.count;
    this.writeQuery(this.mainQuery, prepared);
    this.kernels ??= instantiateKernels(this.memory, kernelModule(this.stride));
    const masks = [this.mask(only, count, false)];
    const params = this.params(0, count, this.mainQuery, this.mainOut, [{ prepared, k }], masks);
    const [candidates] = scanSlice(this.kernels, this.memory.buffer, params);
    return this.finish(prepared, k, [candidates]);
  }

  /** Starts the next pass if none runs: every search waiting so far shares it. */
  private pump(): void {
    if (this.scanning || this.pending.length === 0 || this.disposed) return;
    const batch = this.pending.splice(0, MAX_BATCH);
    this.scanning = true;
    void this.pass(batch).finally(() => {
      this.scanning = false;
      this.pump();
    });
  }

  private async pass(batch: Pending[]): Promise<void> {
    const pool = this.pool!;
    const count = this.count;
    const epoch = this.epoch;
    const key = this.key();
    const memory = this.memory;
    const module = kernelModule(this.stride);
    try {
      const masks = batch.map((entry) => this.mask(entry.only, count, true));
      batch.forEach((entry, j) => this.writeQuery(this.poolQueries + j * this.qBytes, entry.prepared));
      const slices = Math.min(pool.size, Math.ceil(count / BLOCK));
      const per = Math.ceil(count / BLOCK / slices) * BLOCK;
      const scans: Promise<SliceCandidates[]>[] = [];
      for (let w = 0; w < slices; w++) {
        const from = w * per;
        const to = Math.min(count, from + per);
        if (from >= to) break;
        scans.push(
          pool.scan(w, key, memory, module, this.params(from, to, this.poolQueries, this.lanes[w], batch, masks)),
        );
      }
      const results = await Promise.all(scans);
      if (this.disposed) throw new SreUnavailableError('the namespace was dropped during the search', this.source);
      if (this.epoch !== epoch) {
        // rows moved under the scan: run it again, on this thread (atomic) once it keeps happening
        for (const entry of batch.reverse()) {
          if (++entry.retries <= 2) this.pending.unshift(entry);
          else entry.resolve(this.scanHere(entry.prepared, entry.k, entry.only));
        }
        return;
      }
      batch.forEach((entry, j) =>
        entry.resolve(
          this.finish(
            entry.prepared,
            entry.k,
            results.map((slice) => slice[j]),
          ),
        ),
      );
    } catch (error) {
      // no worker could start: these searches, and all later ones, run on this thread
      if (!pool.usable && !this.disposed)
        for (const entry of batch) {
          try {
            entry.resolve(this.scanHere(entry.prepared, entry.k, entry.only));
          } catch (failure) {
            entry.reject(failure as Error);
          }
        }
      else batch.forEach((entry) => entry.reject(error as Error));
    }
  }

  /**
   * Every candidate whose upper bound reaches the k-th best lower bound (the true k-th score is
   * at least that), rescored exactly; the best k of them are the answer.
   */
  private finish(prepared: Prepared, k: number, slices: SliceCandidates[]): RowHit<P>[] {
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
        if (slice.uppers[i] >= floor)
          hits.push({ row: slice.rows[i], score: this.exactScore(slice.rows[i], prepared) });
    hits.sort((a, b) => b.score - a.score || a.row - b.row);
    return hits.slice(0, k).map(({ row, score }) => this.hit(row, score));
  }

  private hit(row: number, score: number): RowHit<P> {
    return { row, score, payload: this.payloads[row], values: this.values(row) };
  }

  /** A zero query scores 0 against every row: the first k allowed rows, by the tie order. */
  private zeroQuery(k: number, only?: (payload: P) => boolean): RowHit<P>[] {
    const hits: RowHit<P>[] = [];
    for (let row = 0; row < this.count && hits.length < k; row++)
      if (!only || only(this.payloads[row])) hits.push(this.hit(row, 0));
    return hits;
  }

  private check(values: ArrayLike<number>): void {
    if (values.length !== this.dimensions)
      throw new SreInvalidInputError(
        `a vector of ${values.length} dimensions does not fit this namespace's ${this.dimensions}`,
        this.source,
      );
  }

  private pagesFor(rows: number): number {
    // 8 rows of slack: the kernels read rows 4 or 8 at a time
    return Math.ceil((this.rowsBase + (rows + 8) * this.stride) / PAGE);
  }

  /**
   * Room for `rows`: the memory grows in place (no copy) by about 3%, so little sits unused; past
   * its reserved maximum it moves to a new memory reserving 4 times more.
   */
  private ensure(rows: number): void {
    if (rows > this.inverseNorms.length) {
      const capacity = Math.ceil(rows * 1.25) + 16;
      const norms = new Float64Array(capacity);
      norms.set(this.inverseNorms.subarray(0, this.count));
      this.inverseNorms = norms;
    }
    while (this.originals && this.originals.length * CHUNK < rows)
      this.originals.push(new Float32Array(CHUNK * this.dimensions));
    const needed = this.pagesFor(rows);
    const pages = this.view.u8.length / PAGE;
    if (needed <= pages) return;
    const target = needed + Math.max(16, Math.floor(needed / 32));
    if (target > MAX_PAGES)
      throw new SreInvalidInputError('this namespace is full: its vectors would pass 4 GB of memory', this.source);
    if (target <= this.maxPages) {
      this.memory.grow(target - pages);
    } else {
      this.maxPages = Math.min(MAX_PAGES, target * 4);
      const memory = new WebAssembly.Memory({ initial: target, maximum: this.maxPages, shared: true });
      new Uint8Array(memory.buffer).set(this.view.u8.subarray(0, this.rowsBase + this.count * this.stride));
      this.pool?.detach(this.key());
      this.memory = memory;
      this.generation++;
      this.kernels = undefined;
    }
    this.view = this.views();
  }

  private views(): VectorRows<P>['view'] {
    const buffer = this.memory.buffer;
    return {
      buffer,
      u8: new Uint8Array(buffer),
      f32: new Float32Array(buffer),
      u16: new Uint16Array(buffer),
      i8: new Int8Array(buffer),
    };
  }
}

const bits = new Float32Array(1);
const bitsU32 = new Uint32Array(bits.buffer);

/** Rounds to the nearest bf16 (ties to even), as its 16 stored bits. */
function toBf16(value: number): number {
  bits[0] = value;
  const u = bitsU32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function fromBf16(stored: number): number {
  bitsU32[0] = stored << 16;
  return bits[0];
}
