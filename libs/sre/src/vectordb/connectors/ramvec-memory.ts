import { SreInvalidInputError, type SreErrorSource } from '../../core/errors';
import { encodeBf16Row, fromBf16, joinFloat, quantizeInt8Row, splitFloatRow, type Prepared } from './ramvec-codec';
import { instantiateKernels, kernelModule, queryBytes, type Kernels, type RowEncoding } from './ramvec-kernel';

/** Rows scored per kernel call: 256 rows x 16 queries of scores fit L1 beside the rows. */
export const BLOCK = 256;
/** Queries that share one pass over memory. */
export const MAX_BATCH = 16;
const PAGE = 65_536;
const MAX_PAGES = 65_536;
/** Rows per chunk of int8's fp32 originals and of f32's low halves. */
const CHUNK = 1024;

type Views = { buffer?: ArrayBufferLike; u8: Uint8Array; f32: Float32Array; u16: Uint16Array; i8: Int8Array };

/**
 * Where a namespace's rows live: one shared `WebAssembly.Memory` (the layout the SIMD kernels
 * read, which the pool's workers see without a copy) holding the query and score scratch, then
 * the rows as the scan reads them, each followed by its f32 score factor and its relative
 * error (int8: of quantization; f32: of its high halves); each row's inverse norm beside it,
 * and what only the exact rescore reads: int8's fp32 originals, f32's low halves. It grows in
 * place, or moves to a larger memory when its reserved maximum is reached.
 *
 * f32 rows are scanned by the high 16 bits of each value (bf16 rounded toward zero), half the
 * bytes a pass reads; the low 16 bits sit outside the shared memory, so a row is still its
 * fp32 values bit for bit in 4 bytes a value, and the rescore scores every candidate the
 * halves' error bound lets through on those exact values.
 */
export class RowMemory {
  readonly padded: number;
  readonly rowBytes: number;
  readonly stride: number;
  readonly qBytes: number;
  /** The encoding of the scanned rows (f32 rows are scanned as their bf16 high halves). */
  readonly scan: RowEncoding;
  /** Scratch addresses: this thread's query and scores, the pool's queries, each worker's scores. */
  readonly mainQuery: number;
  readonly mainOut: number;
  readonly poolQueries: number;
  readonly lanes: number[] = [];
  /** The pool's pass counter (a Uint32: the pass's tag, then the next chunk a worker claims). */
  readonly claims: number;
  readonly rowsBase: number;

  memory: WebAssembly.Memory;
  view: Views;
  inverseNorms: Float64Array;
  /** int8 only: the fp32 rows the exact rescore reads. */
  readonly originals?: Float32Array[];
  /** f32 only: the low 16 bits of each value (the high 16 are the scanned row). */
  readonly lows?: Uint16Array[];
  /** One row's fp32 values, put together from its halves (reused by every call). */
  private joined?: Float32Array;
  private maxPages: number;
  private kernels?: Kernels;

  constructor(
    readonly dimensions: number,
    readonly encoding: RowEncoding,
    workers: number,
    capacity: number,
    private readonly source?: SreErrorSource,
  ) {
    this.padded = Math.ceil(dimensions / 32) * 32;
    this.scan = this.encoding === 'f32' ? 'bf16' : this.encoding;
    this.rowBytes = this.scan === 'bf16' ? this.padded * 2 : this.padded;
    // 16 bytes after each row: its f32 score factor and its relative error, keeping every row
    // 16-byte aligned
    this.stride = this.rowBytes + 16;
    this.qBytes = queryBytes(this.rowBytes);
    let at = 0;
    this.mainQuery = at;
    at += this.qBytes;
    this.mainOut = at;
    at += BLOCK * 4;
    this.poolQueries = at;
    at += MAX_BATCH * this.qBytes;
    for (let lane = 0; lane < workers; lane++) {
      this.lanes.push(at);
      at += BLOCK * MAX_BATCH * 4;
    }
    this.claims = at;
    at += 4;
    this.rowsBase = Math.ceil(at / 64) * 64;
    const pages = this.pagesFor(capacity);
    this.maxPages = Math.min(MAX_PAGES, Math.max(256, pages * 4));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: this.maxPages, shared: true });
    this.view = this.views();
    this.inverseNorms = new Float64Array(capacity);
    if (this.encoding === 'int8') this.originals = [];
    if (this.encoding === 'f32') this.lows = [];
  }

  /** Bytes held for the rows (memory, norms, originals or low halves). */
  get byteLength(): number {
    return (
      this.memory.buffer.byteLength +
      this.inverseNorms.byteLength +
      (this.originals?.length ?? 0) * CHUNK * this.dimensions * 4 +
      (this.lows?.length ?? 0) * CHUNK * this.dimensions * 2
    );
  }

  /** The kernels on this thread, over the current memory. */
  get here(): Kernels {
    return (this.kernels ??= instantiateKernels(this.memory, kernelModule(this.stride)));
  }

  /** int8 only: the fp32 row, in chunks of CHUNK rows (growing never copies them). */
  original(row: number): Float32Array {
    const at = (row % CHUNK) * this.dimensions;
    return this.originals![Math.floor(row / CHUNK)].subarray(at, at + this.dimensions);
  }

  /** f32 only: the row's low halves, in chunks of CHUNK rows (growing never copies them). */
  low(row: number): Uint16Array {
    const at = (row % CHUNK) * this.dimensions;
    return this.lows![Math.floor(row / CHUNK)].subarray(at, at + this.dimensions);
  }

  /**
   * The row's values as the rescore scores them: fp32 (int8's originals; f32's halves put
   * together into a buffer the next call reuses) or, bf16, the rounded values.
   */
  exact(row: number): Float32Array {
    if (this.encoding === 'int8') return this.original(row);
    const out = (this.joined ??= new Float32Array(this.dimensions));
    this.copyValues(row, out, 0);
    return out;
  }

  /** The row's values as numbers (see `exact`). */
  values(row: number): number[] {
    const exact = this.exact(row);
    const out = new Array<number>(exact.length);
    for (let i = 0; i < exact.length; i++) out[i] = exact[i];
    return out;
  }

  copyValues(row: number, into: Float32Array, offset: number): void {
    if (this.encoding === 'int8') return into.set(this.original(row), offset);
    const u16 = this.view.u16;
    const at = (this.rowsBase + row * this.stride) / 2;
    if (this.encoding === 'bf16') {
      for (let i = 0; i < this.dimensions; i++) into[offset + i] = fromBf16(u16[at + i]);
      return;
    }
    const low = this.low(row);
    for (let i = 0; i < this.dimensions; i++) into[offset + i] = joinFloat(u16[at + i], low[i]);
  }

  /** Encodes `values` into row `row` (room for it made already), its factor and norm beside it. */
  write(row: number, values: ArrayLike<number>): void {
    const base = this.rowsBase + row * this.stride;
    const { u8, f32, u16, i8 } = this.view;
    u8.fill(0, base, base + this.stride);
    let factor: number;
    if (this.encoding === 'int8') {
      const int8 = quantizeInt8Row(values, this.dimensions, this.original(row), i8, base);
      f32[(base + this.rowBytes) / 4 + 1] = int8.error;
      factor = int8.factor;
      this.inverseNorms[row] = int8.inverse;
    } else if (this.encoding === 'f32') {
      const split = splitFloatRow(values, this.dimensions, u16, base, this.low(row), 0);
      f32[(base + this.rowBytes) / 4 + 1] = split.error;
      factor = this.inverseNorms[row] = split.inverse;
    } else {
      const bf16 = encodeBf16Row(values, this.dimensions, u16, base);
      f32[(base + this.rowBytes) / 4 + 1] = bf16.error;
      factor = this.inverseNorms[row] = bf16.inverse;
    }
    f32[(base + this.rowBytes) / 4] = factor;
  }

  /** Copies row `from` over row `to` (a removal filling its hole). */
  move(from: number, to: number): void {
    const at = this.rowsBase + from * this.stride;
    this.view.u8.copyWithin(this.rowsBase + to * this.stride, at, at + this.stride);
    this.inverseNorms[to] = this.inverseNorms[from];
    if (this.originals) this.original(to).set(this.original(from));
    if (this.lows) this.low(to).set(this.low(from));
  }

  writeQuery(at: number, prepared: Prepared): void {
    if (prepared.encoded instanceof Int8Array) this.view.i8.set(prepared.encoded, at);
    else this.view.f32.set(prepared.encoded, at / 4);
  }

  /**
   * Room for `rows` (`count` of them in use): the memory grows in place (no copy) by about 3%, so
   * little sits unused; past its reserved maximum it moves to a new memory reserving 4 times
   * more, and this returns true (the workers must let go of the old one).
   */
  ensure(rows: number, count: number): boolean {
    if (rows > this.inverseNorms.length) {
      const capacity = Math.ceil(rows * 1.25) + 16;
      const norms = new Float64Array(capacity);
      norms.set(this.inverseNorms.subarray(0, count));
      this.inverseNorms = norms;
    }
    while (this.originals && this.originals.length * CHUNK < rows)
      this.originals.push(new Float32Array(CHUNK * this.dimensions));
    while (this.lows && this.lows.length * CHUNK < rows) this.lows.push(new Uint16Array(CHUNK * this.dimensions));
    const needed = this.pagesFor(rows);
    const pages = this.view.u8.length / PAGE;
    if (needed <= pages) return false;
    const target = needed + Math.max(16, Math.floor(needed / 32));
    if (target > MAX_PAGES)
      throw new SreInvalidInputError('this namespace is full: its vectors would pass 4 GB of memory', this.source);
    let moved = false;
    if (target <= this.maxPages) {
      this.memory.grow(target - pages);
    } else {
      this.maxPages = Math.min(MAX_PAGES, target * 4);
      const memory = new WebAssembly.Memory({ initial: target, maximum: this.maxPages, shared: true });
      new Uint8Array(memory.buffer).set(this.view.u8.subarray(0, this.rowsBase + count * this.stride));
      this.memory = memory;
      this.kernels = undefined;
      moved = true;
    }
    this.view = this.views();
    return moved;
  }

  private pagesFor(rows: number): number {
    // rows of slack: the batch kernels read rows 4 at a time, up to 3 past the last
    return Math.ceil((this.rowsBase + (rows + 8) * this.stride) / PAGE);
  }

  private views(): Views {
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
