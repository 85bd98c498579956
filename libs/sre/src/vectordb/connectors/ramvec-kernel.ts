/**
 * RAMVec's dot-product kernels, as WebAssembly SIMD bytes assembled here at load time (no
 * toolchain, nothing native, nothing to ship beside the JS). Each kernel scores a block of rows
 * against several queries: the rows of a block are read from memory once and stay in L1 while
 * every query of the batch passes over them, which is what makes batching concurrent queries pay
 * (the f32 batch kernel goes a slice of its rows at a time, so that slice and all the queries'
 * fit L1 together).
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
  simd,
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
  v128And,
  i32x4DotI16x8S,
  i16x8ExtendLowI8x16S,
  i16x8ExtendHighI8x16S,
  i32x4ExtractLane,
  load,
  section,
  name,
} from './ramvec-wasm';

import { ROW_BYTES, P, QP, Q_BYTES, ACC0, QV, QV2, RV, MASK, passBody, type PassShape } from './ramvec-kernel-pass';
/** Row encodings a kernel reads. */
export type RowEncoding = 'f32' | 'bf16' | 'int8';

/** The bytes a query takes for rows of `rowBytes`: f32 for f32 and bf16 rows, i16 for int8 rows. */
export function queryBytes(encoding: RowEncoding, rowBytes: number): number {
  return encoding === 'f32' ? rowBytes : rowBytes * 2;
}

/** 16-byte chunks each turn of the inner loop takes per row (the row bytes are a multiple of this). */
const UNROLL: Record<RowEncoding, number> = { f32: 4, bf16: 4, int8: 2 };

/**
 * bf16 rows against one query at a time. Each row's 8 bf16 values of a chunk are read as 4 f32
 * lanes twice: shifted left (the even elements) and masked (the odd ones), so the query is
 * stored evens-then-odds per 8 values to match. `rows` 1 is the single-query kernel (one
 * sequential stream, see `oneRow`: 1.75 to 2.8 times as fast as 4 rows a pass over 10k to 50k
 * rows of 1536 dimensions); `rows` 4 the batch kernel, whose rows stay in L1 while every query
 * of the batch passes over them. The stride is baked into the load offsets (row i sits at
 * P + i * stride): one address add serves all the rows of a pass.
 */
function bf16Body(stride: number, rows: 1 | 4): number[] {
  const prelude = [...get(ROW_BYTES), ...i32Const(2), ...i32Mul, ...set(Q_BYTES)];
  // the high half of each 32-bit lane: a bf16 in the upper bits is that f32
  prelude.push(
    ...simd(0x0c, ...[0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff]),
    ...set(MASK),
  );
  const chunk = (offset: number) => {
    const b = [...get(QP), ...load(offset * 2), ...set(QV), ...get(QP), ...load(offset * 2 + 16), ...set(QV2)];
    for (let i = 0; i < rows; i++) {
      const acc = rows === 1 ? rotating(offset) : ACC0 + i;
      b.push(...get(P), ...load(i * stride + offset), ...set(RV));
      b.push(...get(acc), ...get(RV), ...i32Const(16), ...i32x4Shl, ...get(QV), ...f32x4Mul, ...f32x4Add);
      b.push(...get(RV), ...get(MASK), ...v128And, ...get(QV2), ...f32x4Mul, ...f32x4Add, ...set(acc));
    }
    return b;
  };
  const unroll = UNROLL.bf16;
  return passBody({
    rows,
    queries: 1,
    unroll,
    queryBytes: Q_BYTES,
    queryStep: 32 * unroll,
    lanes: 'f32',
    prelude,
    chunk,
    ...(rows === 1 ? oneRow('f32') : {}),
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
 * f32 rows against queries two at a time (nQueries even): each row chunk loaded once feeds both
 * queries, so a batch costs fewer loads per product than one query after another. A query is
 * `stride - 16` bytes (the f32 row bytes), which puts the second query at a constant offset.
 *
 * One chunk a turn, not UNROLL: V8 unrolls a loop this small itself, and on a bigger body its
 * scheduler hoists every load to the top, so 24 live chunks spill to the stack (measured 20%
 * slower). The 4 row chunks are loaded first and each query then streams over them, which keeps
 * the live set at 8 accumulators, 4 rows, a query and a product: 14 of the 15 xmm registers.
 * Rows go 512 bytes at a time (see `PassShape.slice`; of 384 to 2048 bytes, 512 measured best:
 * 13% faster than whole rows at 8 queries of 1536 dimensions).
 */
function pairBody(stride: number): number[] {
  const [A, R0, Q] = [ACC0, 25, 29];
  const second = stride - 16;
  const chunk = (offset: number) => {
    const b: number[] = [];
    for (let i = 0; i < 4; i++) b.push(...get(P), ...load(i * stride + offset), ...set(R0 + i));
    for (let q = 0; q < 2; q++) {
      b.push(...get(QP), ...load(offset + q * second), ...set(Q));
      for (let i = 0; i < 4; i++) {
        const acc = A + q * 4 + i;
        b.push(...get(acc), ...get(R0 + i), ...get(Q), ...f32x4Mul, ...f32x4Add, ...set(acc));
      }
    }
    return b;
  };
  return passBody({
    rows: 4,
    queries: 2,
    unroll: 1,
    queryBytes: ROW_BYTES,
    queryStep: 16,
    lanes: 'f32',
    chunk,
    slice: 512,
  });
}

/** f32 rows one at a time against one query (the single-query kernel, see `oneRow`). */
function oneRowF32Body(): number[] {
  const chunk = (offset: number) => {
    const acc = rotating(offset);
    return [
      ...get(acc),
      ...get(P),
      ...load(offset),
      ...get(QP),
      ...load(offset),
      ...f32x4Mul,
      ...f32x4Add,
      ...set(acc),
    ];
  };
  const unroll = UNROLL.f32;
  return passBody({
    rows: 1,
    queries: 1,
    unroll,
    queryBytes: ROW_BYTES,
    queryStep: 16 * unroll,
    lanes: 'f32',
    chunk,
    ...oneRow('f32'),
  });
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
    ['f32r1', 0, [2, 10, I32, 9, V128], oneRowF32Body()],
    ['f32x2', 0, [2, 10, I32, 13, V128], pairBody(stride)],
    ['int8r1', 0, [2, 10, I32, 11, V128], int8Body(stride, 1)],
    ['int8r4', 0, [2, 10, I32, 11, V128], int8Body(stride, 4)],
    ['bf16r1', 0, [2, 10, I32, 8, V128], bf16Body(stride, 1)],
    ['bf16r4', 0, [2, 10, I32, 8, V128], bf16Body(stride, 4)],
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
  /** f32 rows, 1 a pass, one query (the single-query kernel). */
  f32r1: (...args: number[]) => void;
  /** f32 rows, 4 a pass, queries in pairs: nQueries must be even (the batch kernel). */
  f32x2: (...args: number[]) => void;
  /** int8 rows against i16 queries, 1 row a pass, i32 scores (the single-query kernel). */
  int8r1: (...args: number[]) => void;
  /** int8 rows against i16 queries, 4 rows a pass, i32 scores (the batch kernel). */
  int8r4: (...args: number[]) => void;
  /** bf16 rows against f32 queries (stored evens-then-odds per 8 values), 1 row a pass, one query. */
  bf16r1: (...args: number[]) => void;
  /** The same, 4 rows a pass, each query of the batch in turn (the batch kernel). */
  bf16r4: (...args: number[]) => void;
  read: (address: number, bytes: number) => number;
}

export function instantiateKernels(memory: WebAssembly.Memory, module: WebAssembly.Module): Kernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
