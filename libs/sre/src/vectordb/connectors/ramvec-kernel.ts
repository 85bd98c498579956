/**
 * RAMVec's dot-product kernels, as WebAssembly SIMD bytes assembled here at load time (no
 * toolchain, nothing native, nothing to ship beside the JS). Each kernel scores a block of rows
 * against several queries: the rows of a block are read from memory once and stay in L1 while
 * every query of the batch passes over them, which is what makes batching concurrent queries pay.
 *
 * Every kernel has the signature
 *   (rows, nRows, strideBytes, rowBytes, queries, nQueries, out) -> ()
 * with `rows` the first row's address, `strideBytes` the stride the module was built for,
 * `rowBytes` the scanned bytes of a row (a multiple of 16 x UNROLL of its encoding),
 * `queries` packed at `queryBytes(rowBytes)` apart, and `out[row * nQueries + query]` one 4-byte
 * score (f32, or i32 for int8). The single-query kernels take one row a pass, the batch kernels
 * 4: the caller keeps at least 3 rows of slack readable past the last one and ignores their scores.
 */

import {
  I32,
  V128,
  leb,
  get,
  set,
  tee,
  i32Const,
  i32Add,
  i32Mul,
  i32LtU,
  f32x4Add,
  f32x4Mul,
  i32x4Add,
  i32x4Shl,
  i32x4DotI16x8S,
  i16x8ExtendLowI8x16S,
  i16x8ExtendHighI8x16S,
  i32x4ExtractLane,
  load,
  section,
  name,
} from './ramvec-wasm';

import { ROW_BYTES, P, QP, Q_BYTES, ACC0, QV, QV2, RV, passBody, type PassShape } from './ramvec-kernel-pass';
/**
 * How a namespace stores its rows; the kernels read bf16 and int8 rows (f32 rows are scanned by
 * their high halves, which are bf16: see `RowMemory`).
 */
export type RowEncoding = 'f32' | 'bf16' | 'int8';

/** The bytes a query takes for scanned rows of `rowBytes`: f32 values for bf16 rows (2 bytes a value), i16 for int8 rows. */
export function queryBytes(rowBytes: number): number {
  return rowBytes * 2;
}

/** 16-byte chunks each turn of the inner loop takes per row (the row bytes are a multiple of this). */
const UNROLL = { bf16: 4, int8: 2 };

/**
 * bf16 rows against one query. Each row's 8 bf16 values of a chunk are read as 4 f32 lanes
 * twice: shifted left (the even elements, exactly) and as they are (the odd elements, with the
 * even one's bits below them as extra mantissa: within one bf16 unit of the odd value, an error
 * the row's stored relative error accounts for, see `bf16KernelError`), so the query is stored
 * evens-then-odds per 8 values to match. Both bf16 kernels read the odd elements so (the pair
 * kernel has no register left for a mask), so one stored error serves both.
 *
 * One row a pass (one sequential stream, see `oneRow`: 1.75 to 2.8 times as fast as 4 rows a
 * pass over 10k to 50k rows of 1536 dimensions).
 */
function bf16Body(): number[] {
  const prelude = [...get(ROW_BYTES), ...i32Const(2), ...i32Mul, ...set(Q_BYTES)];
  const chunk = (offset: number) => {
    const acc = rotating(offset);
    const b = [...get(QP), ...load(offset * 2), ...set(QV), ...get(QP), ...load(offset * 2 + 16), ...set(QV2)];
    b.push(...get(P), ...load(offset), ...set(RV));
    b.push(...get(acc), ...get(RV), ...i32Const(16), ...i32x4Shl, ...get(QV), ...f32x4Mul, ...f32x4Add);
    b.push(...get(RV), ...get(QV2), ...f32x4Mul, ...f32x4Add, ...set(acc));
    return b;
  };
  const unroll = UNROLL.bf16;
  return passBody({
    rows: 1,
    queries: 1,
    unroll,
    queryBytes: Q_BYTES,
    queryStep: 32 * unroll,
    lanes: 'f32',
    prelude,
    chunk,
    ...oneRow('f32'),
  });
}

/**
 * bf16 rows against queries two at a time (nQueries even; the batch kernel): each row chunk is
 * loaded and its even elements shifted out once for both queries, which leaves the products
 * and sums as the only work per value. A query is `2 * (stride - 16)` bytes (f32 values), which
 * puts the second query at a constant offset. The live set is 8 accumulators, 4 query halves, a
 * row and its even elements: 14 of the 15 xmm registers (no room for a mask, hence the odd
 * elements read as they are, see `bf16Body`; loading the query halves per row instead took a
 * third longer).
 *
 * Rows go 256 bytes (128 values) at a time (`PassShape.slice`): every query of the batch takes
 * that slice of the 4 rows before the next, so 8 queries' slices (4 KB) and the rows' stay in
 * L1; whole rows, 8 queries of 1536 dimensions (48 KB) came from L2 for every 4 rows. Measured
 * at 8 callers over 10k and 50k rows of 1536: 10-15% more searches a second than whole rows,
 * 128 and 512 bytes no better.
 */
function bf16PairBody(stride: number): number[] {
  const [A, Q0, RW, EV] = [ACC0, 25, 29, 30];
  const second = 2 * (stride - 16);
  const prelude = [...get(ROW_BYTES), ...i32Const(2), ...i32Mul, ...set(Q_BYTES)];
  const chunk = (offset: number) => {
    const b: number[] = [];
    for (let q = 0; q < 2; q++)
      for (let h = 0; h < 2; h++) b.push(...get(QP), ...load(offset * 2 + q * second + h * 16), ...set(Q0 + q * 2 + h));
    for (let i = 0; i < 4; i++) {
      b.push(...get(P), ...load(i * stride + offset), ...tee(RW), ...i32Const(16), ...i32x4Shl, ...set(EV));
      for (let q = 0; q < 2; q++) {
        const acc = A + q * 4 + i;
        b.push(...get(acc), ...get(EV), ...get(Q0 + q * 2), ...f32x4Mul, ...f32x4Add);
        b.push(...get(RW), ...get(Q0 + q * 2 + 1), ...f32x4Mul, ...f32x4Add, ...set(acc));
      }
    }
    return b;
  };
  return passBody({
    rows: 4,
    queries: 2,
    unroll: 1,
    queryBytes: Q_BYTES,
    queryStep: 32,
    lanes: 'f32',
    prelude,
    chunk,
    slice: 256,
    queryBytesPerRowByte: 2,
  });
}

/**
 * The accumulator of a single-row kernel's chunk: 4 of them in turn (ACC0 to ACC0 + 3), so the
 * additions run on 4 dependency chains, folded into ACC0 at the end of the row.
 */
const rotating = (offset: number) => ACC0 + ((offset / 16) % 4);

/**
 * What makes a single-query kernel take one row a pass: 4 rotating accumulators folded into one.
 * One row a pass reads the rows as one sequential stream, which the hardware prefetcher follows;
 * 4 or 8 rows a pass are as many interleaved streams, and out of memory it kept up with none of
 * them (measured here on 10k and 50k rows of 1536 dimensions, one thread: f32 24 GB/s one row a
 * pass against 15.5 GB/s 8 rows a pass, at a memory read speed of 25 GB/s).
 */
function oneRow(lanes: 'f32' | 'i32'): Pick<PassShape, 'accumulators' | 'fold'> {
  const add = lanes === 'f32' ? f32x4Add : i32x4Add;
  const fold = [
    ...get(ACC0),
    ...get(ACC0 + 1),
    ...add,
    ...get(ACC0 + 2),
    ...get(ACC0 + 3),
    ...add,
    ...add,
    ...set(ACC0),
  ];
  return { accumulators: 4, fold };
}

/**
 * int8 rows against i16 queries (2 bytes a dimension): the rows are widened to i16 and
 * multiplied pairwise into i32 lanes. A query is stored widened (and quantized far finer than
 * the rows: see prepareQuery), so the kernel widens only the rows.
 *
 * `rows` 1 is the single-query kernel: one row at a time, read as one sequential stream. Rows
 * 8 at a time (the earlier kernel, sharing the query's widening) took 2.7 times as long over
 * 25,000 rows of 1536 dimensions out of memory, but only 1.3 times out of L2: 8 interleaved
 * streams of 1.5 KB defeat the hardware prefetcher here (2 or 4 rows a pass did no better; an
 * explicit load of the next pass's rows did not help). Its 2 accumulator pairs, one per chunk of
 * a turn, keep the additions off one dependency chain.
 *
 * `rows` 4 is the batch kernel: there every query of the batch passes over rows already in L1,
 * so compute, not the prefetcher, sets the pace, and a query chunk loaded once feeds 4 rows (a
 * fifth less time than one row at a time at 8 queries).
 */
function int8Body(stride: number, rows: 1 | 4): number[] {
  const [A, QL, QH, T] = [ACC0, 25, 26, 27];
  const prelude = [...get(ROW_BYTES), ...i32Const(2), ...i32Mul, ...set(Q_BYTES)];
  const single = rows === 1;
  const chunk = (offset: number) => {
    const b = [...get(QP), ...load(offset * 2), ...set(QL), ...get(QP), ...load(offset * 2 + 16), ...set(QH)];
    for (let i = 0; i < rows; i++) {
      // single: accumulators A..A+3, (even or odd chunk) x (low or high half); else A + row
      const [low, high] = single ? [A + ((offset / 16) % 2) * 2, A + ((offset / 16) % 2) * 2 + 1] : [A + i, A + i];
      b.push(...get(P), ...load(i * stride + offset), ...set(T));
      b.push(...get(low), ...get(T), ...i16x8ExtendLowI8x16S, ...get(QL), ...i32x4DotI16x8S, ...i32x4Add);
      if (single) b.push(...set(low), ...get(high));
      b.push(...get(T), ...i16x8ExtendHighI8x16S, ...get(QH), ...i32x4DotI16x8S, ...i32x4Add, ...set(high));
    }
    return b;
  };
  const unroll = UNROLL.int8;
  return passBody({
    rows,
    queries: 1,
    unroll,
    queryBytes: Q_BYTES,
    queryStep: 32 * unroll,
    lanes: 'i32',
    prelude,
    chunk,
    ...(single ? oneRow('i32') : {}),
  });
}

/**
 * read(address, bytes) -> i32: touches every 16 bytes and nothing else, 64 bytes a turn; the
 * bench's measure of how fast this machine streams memory, next to which the kernels are judged.
 */
function readBody(): number[] {
  const [ADDRESS, END, ACC] = [0, 2, 3];
  const b = [2, 1, I32, 1, V128];
  b.push(...get(ADDRESS), ...get(1), ...i32Add, ...set(END));
  b.push(0x03, 0x40);
  for (let offset = 0; offset < 64; offset += 16)
    b.push(...get(ACC), ...get(ADDRESS), ...load(offset), ...i32x4Add, ...set(ACC));
  b.push(...get(ADDRESS), ...i32Const(64), ...i32Add, ...tee(ADDRESS), ...get(END), ...i32LtU, 0x0d, 0, 0x0b);
  b.push(...get(ACC), ...i32x4ExtractLane(0), 0x0b);
  return b;
}

/** The module: imports `env.memory` (shared), exports one kernel per encoding and `read`. */
export function kernelBytes(stride: number): Uint8Array<ArrayBuffer> {
  const type = [0x60, 7, ...new Array(7).fill(I32), 0];
  const readType = [0x60, 2, I32, I32, 1, I32];
  // shared memory import with limits flag 0x03 (min + max, shared): the pages are the host's
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x03, ...leb(1), ...leb(65536)];
  // name, type index, locals (count x type), body
  const functions: [string, number, number[], number[]][] = [
    ['int8r1', 0, [2, 10, I32, 11, V128], int8Body(stride, 1)],
    ['int8r4', 0, [2, 10, I32, 11, V128], int8Body(stride, 4)],
    ['bf16r1', 0, [2, 10, I32, 7, V128], bf16Body()],
    ['bf16x2', 0, [2, 10, I32, 14, V128], bf16PairBody(stride)],
    ['read', 1, [], readBody()],
  ];
  const exports = functions.flatMap(([exported], i) => [...name(exported), 0x00, i]);
  const bodies = functions.map(([, , locals, body]) => {
    const code = [...locals, ...body];
    return [...leb(code.length), ...code];
  });
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [2, ...type, ...readType]),
    ...section(2, [1, ...memoryImport]),
    ...section(3, [functions.length, ...functions.map(([, type]) => type)]),
    ...section(7, [functions.length, ...exports]),
    ...section(10, [functions.length, ...bodies.flat()]),
  ]);
}

const compiled = new Map<number, WebAssembly.Module>();

/**
 * The kernels for rows `stride` bytes apart, compiled once a process per stride (workers get
 * the compiled module by postMessage).
 */
export function kernelModule(stride: number): WebAssembly.Module {
  let module = compiled.get(stride);
  if (!module) compiled.set(stride, (module = new WebAssembly.Module(kernelBytes(stride))));
  return module;
}

export interface Kernels {
  /** int8 rows against i16 queries, 1 row a pass, i32 scores (the single-query kernel). */
  int8r1: (...args: number[]) => void;
  /** int8 rows against i16 queries, 4 rows a pass, i32 scores (the batch kernel). */
  int8r4: (...args: number[]) => void;
  /**
   * bf16 rows (f32 rows' high halves too) against f32 queries (stored evens-then-odds per 8
   * values), 1 row a pass, one query.
   */
  bf16r1: (...args: number[]) => void;
  /** The same, 4 rows a pass, queries in pairs: nQueries must be even (the batch kernel). */
  bf16x2: (...args: number[]) => void;
  read: (address: number, bytes: number) => number;
}

export function instantiateKernels(memory: WebAssembly.Memory, module: WebAssembly.Module): Kernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
