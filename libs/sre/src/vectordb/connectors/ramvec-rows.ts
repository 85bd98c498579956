import type { SreErrorSource } from '../../core/errors';
import { SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import { prepareQuery, type Prepared } from './ramvec-codec';
import { kernelModule, type RowEncoding } from './ramvec-kernel';
import { BLOCK, MAX_BATCH, RowMemory } from './ramvec-memory';
import type { RAMVecPool } from './ramvec-pool';
import { scanSlice, type SliceCandidates } from './ramvec-scan';
import { rescoreCandidates, rowMask, sliceParams } from './ramvec-search';

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
 * How rows are kept: `none` fp32 (exact; scanned by each value's high 16 bits, see `RowMemory`);
 * `int8` an int8 copy scanned, then the fp32 originals rescored (exact, more memory, less read
 * per query); `bf16` bf16 only (half the memory, exact over the rounded vectors, lossy against
 * the inserted ones).
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
   * (default: 8 MB of scanned rows, ~2,700 vectors of 1536 dimensions in fp32 or bf16).
   */
  workerThreshold?: number;
}

/**
 * Scanned row bytes from which the worker hop pays. Measured here at 1536 dimensions, fp32, on a
 * busy 2-core machine: the main thread wins up to 2,000 rows, the workers from about 4,000;
 * bench/ramvec.bench.ts prints the crossover. (It was 16 MB when fp32 rows were scanned whole:
 * the same rows, now that a pass reads their high halves.)
 */
const WORKER_THRESHOLD_BYTES = 8 * 2 ** 20;

let nextUid = 0;

/** A pass's chunk counter: its tag in the high 12 bits, the next chunk's index in the low 20. */
const MAX_TAG = 0xfff;
const MAX_CHUNKS = 0x100000;

interface Pending {
  prepared: Prepared;
  k: number;
  only?: (payload: unknown) => boolean;
  retries: number;
  /** The pool's generation when the search queued (see `RAMVecPool.generation`). */
  generation: number;
  resolve: (hits: RowHit<any>[]) => void;
  reject: (error: Error) => void;
}

/**
 * The vectors of one namespace, row after row in one shared `WebAssembly.Memory` (see
 * `RowMemory`), each row's inverse norm beside it. Rows are removed by moving the last row into
 * the hole: a scan never walks over gaps.
 *
 * A search is exact: the kernel's bf16 (or int8) scores pick candidates, and every candidate
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
  private readonly rows: RowMemory;
  private readonly uid = nextUid++;

  private generation = 0;
  private readonly payloads: P[] = [];
  private count = 0;
  /** Bumped by every removal: a pass that saw one started over moved rows and runs again. */
  private epoch = 0;
  private readonly pending: Pending[] = [];
  private scanning = false;
  private disposed = false;
  /** The last pass's tag (see `SliceParams.claims`). */
  private passes = 0;

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
    const capacity = Math.max(16, settings.capacity ?? 16);
    this.rows = new RowMemory(dimensions, this.encoding, this.pool?.size ?? 0, capacity, this.source);
    this.workerThreshold = settings.workerThreshold ?? Math.ceil(WORKER_THRESHOLD_BYTES / this.rows.stride);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held for the rows (memory, norms, originals), payloads aside. */
  get byteLength(): number {
    return this.rows.byteLength;
  }

  payload(row: number): P {
    return this.payloads[row];
  }

  /** The row's values, as stored (fp32; for bf16, the rounded values). */
  values(row: number): number[] {
    return this.rows.values(row);
  }

  /**
   * Copies the row's values into `into` at `offset` as fp32 (for bf16, the rounded values, which
   * read back to the same bf16): what a snapshot saves, without a `number[]` per row.
   */
  copyValues(row: number, into: Float32Array, offset = 0): void {
    this.rows.copyValues(row, into, offset);
  }

  /** Appends a row; returns its index (valid until a removal moves it). */
  add(values: ArrayLike<number>, payload: P): number {
    this.check(values);
    this.usable();
    if (this.rows.ensure(this.count + 1, this.count)) {
      // a new memory: the workers let go of the old one, and attach the new one by its new key
      this.pool?.detach(this.key());
      this.generation++;
    }
    const row = this.count;
    this.rows.write(row, values);
    this.payloads[row] = payload;
    this.count++;
    return row;
  }

  /** Removes every row whose payload matches, keeping the rows packed. */
  removeWhere(match: (payload: P) => boolean): number {
    let removed = 0;
    for (let row = this.count - 1; row >= 0; row--) {
      if (!match(this.payloads[row])) continue;
      const last = --this.count;
      if (row !== last) {
        this.rows.move(last, row);
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
    const prepared = prepareQuery(query, this.dimensions, this.rows.padded, this.encoding);
    if (prepared.invQ === 0) return this.zeroQuery(k, only);
    if (!this.pool?.usable || this.count < this.workerThreshold) return this.scanHere(prepared, k, only);
    return new Promise<RowHit<P>[]>((resolve, reject) => {
      const generation = this.pool!.generation;
      this.pending.push({ prepared, k, only: only as Pending['only'], retries: 0, generation, resolve, reject });
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

  /** One query on this thread: the namespace is too small for a worker hop to pay. */
  private scanHere(prepared: Prepared, k: number, only?: (payload: P) => boolean): RowHit<P>[] {
    const { rows, count } = this;
    rows.writeQuery(rows.mainQuery, prepared);
    const kernels = rows.here;
    const masks = [rowMask(this.payloads, only, count, false)];
    const params = sliceParams(rows, 0, count, rows.mainQuery, rows.mainOut, [{ prepared, k }], masks);
    const [candidates] = scanSlice(kernels, rows.memory.buffer, params);
    return this.finish(prepared, k, [candidates]);
  }

  /**
   * Starts the next pass if none runs: every search waiting by then shares it. A pass starts a
   * promise job later, so searches made in the same job share it; after a pass the next one
   * waits for the event loop's next turn, so that the callers it answered, who search again a
   * few promise jobs later, share that one. Started at once, a pass took whichever search came
   * first alone and the rest in the pass after (8 callers went 1, 7, 1, 7... passes, each a
   * whole read of the rows).
   */
  private pump(): void {
    if (this.scanning || this.disposed || this.pending.length === 0) return;
    this.scanning = true;
    queueMicrotask(() => this.startPass());
  }

  private startPass(): void {
    const current = this.pool!.generation;
    while (this.pending.length > 0 && this.pending[0].generation !== current)
      this.pending
        .shift()!
        .reject(new SreUnavailableError('the RAMVec connector was disconnected during a search', this.source));
    if (this.disposed || this.pending.length === 0) {
      this.scanning = false;
      return;
    }
    const batch = this.pending.splice(0, MAX_BATCH);
    void this.pass(batch).finally(() =>
      setImmediate(() => {
        this.scanning = false;
        this.pump();
      }),
    );
  }

  private async pass(batch: Pending[]): Promise<void> {
    const pool = this.pool!;
    const { rows, count, epoch } = this;
    const key = this.key();
    const memory = rows.memory;
    const module = kernelModule(rows.stride);
    try {
      const masks = batch.map((entry) => rowMask(this.payloads, entry.only, count, true));
      batch.forEach((entry, j) => rows.writeQuery(rows.poolQueries + j * rows.qBytes, entry.prepared));
      // every worker claims chunks of rows from one counter until none are left: a worker that
      // starts late scans less, rather than the pass waiting for its half (at 10k x 1536 the two
      // workers ended 0.5-1 ms apart, a third of a pass; now ~0.1)
      const scanners = Math.min(pool.size, Math.ceil(count / BLOCK));
      const tag = (this.passes = (this.passes + 1) & MAX_TAG);
      const chunk = Math.max(1, Math.ceil(count / MAX_CHUNKS / BLOCK)) * BLOCK;
      Atomics.store(new Uint32Array(memory.buffer, rows.claims, 1), 0, tag * MAX_CHUNKS);
      const scans: Promise<SliceCandidates[]>[] = [];
      for (let w = 0; w < scanners; w++) {
        const params = sliceParams(rows, 0, count, rows.poolQueries, rows.lanes[w], batch, masks);
        Object.assign(params, { claims: rows.claims, tag, chunk });
        scans.push(pool.scan(w, key, memory, module, params));
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

  /** The slices' candidates rescored exactly: the best k, as hits. */
  private finish(prepared: Prepared, k: number, slices: SliceCandidates[]): RowHit<P>[] {
    return rescoreCandidates(this.rows, prepared, k, slices).map(({ row, score }) => this.hit(row, score));
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
}
