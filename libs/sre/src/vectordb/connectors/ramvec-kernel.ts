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
 * score (f32, or i32 for int8). Rows are taken 4 (or 8) at a time: the caller keeps 7 rows of
 * slack readable past the last one and ignores their scores.
 */

/** Row encodings a kernel reads. */
export type RowEncoding = 'f32' | 'bf16' | 'int8';

const I32 = 0x7f;
const V128 = 0x7b;

/** Unsigned LEB128, as the binary format writes every index and immediate. */
function leb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

const simd = (op: number, ...immediates: number[]) => [0xfd, ...leb(op), ...immediates];
const get = (local: number) => [0x20, ...leb(local)];
const set = (local: number) => [0x21, ...leb(local)];
const tee = (local: number) => [0x22, ...leb(local)];
const i32Const = (value: number) => [0x41, ...signedLeb(value)];
const i32Add = [0x6a];
const i32Mul = [0x6c];
const i32LtU = [0x49];
/** memarg: alignment exponent, then offset. */
const v128Zero = simd(0x0c, ...new Array(16).fill(0));
const f32x4Add = simd(0xe4);
const f32x4Mul = simd(0xe6);
const i32x4Add = simd(0xae);
const i32x4Shl = simd(0xab);
const v128And = simd(0x4e);
const i32x4DotI16x8S = simd(0xba);
const i16x8ExtendLowI8x16S = simd(0x87);
const i16x8ExtendHighI8x16S = simd(0x88);
const f32x4ExtractLane = (lane: number) => simd(0x1f, lane);
const i32x4ExtractLane = (lane: number) => simd(0x1b, lane);
const f32Add = [0x92];
const f32Store = [0x38, 2, 0];
const i32Store = [0x36, 2, 0];

function signedLeb(value: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

// parameters
const ROWS = 0,
  N_ROWS = 1,
  STRIDE = 2,
  ROW_BYTES = 3,
  QUERIES = 4,
  N_QUERIES = 5,
  OUT = 6;
// i32 locals
const R = 7,
  J = 8,
  P = 9,
  P0 = 10,
  END = 11,
  QP = 14,
  Q_BYTES = 15;
// v128 locals
const ACC0 = 17,
  QV = 21,
  QV2 = 22,
  RV = 23,
  MASK = 24;

/** The bytes a query takes for rows of `rowBytes`: f32 for f32 and bf16 rows, int8 for int8 rows. */
export function queryBytes(encoding: RowEncoding, rowBytes: number): number {
  return encoding === 'bf16' ? rowBytes * 2 : rowBytes;
}

/** Loads 16 bytes at the address on the stack plus a constant offset. */
const load = (offset: number) => simd(0x00, 4, ...leb(offset));

/** 16-byte chunks each turn of the inner loop takes per row (the row bytes are a multiple of this). */
const UNROLL: Record<RowEncoding, number> = { f32: 4, bf16: 4, int8: 2 };

/**
 * bf16 rows 4 at a time against each query of the batch. Each row's 8 bf16 values of a chunk
 * are read as 4 f32 lanes twice: shifted left (the even elements) and masked (the odd ones), so
 * the query is stored evens-then-odds per 8 values to match. The stride is baked into the load
 * offsets (row i sits at P + i * stride): one address add serves all four rows.
 */
function bf16Body(stride: number): number[] {
  const b: number[] = [];
  const unroll = UNROLL.bf16;
  b.push(...get(ROW_BYTES), ...i32Const(2), ...i32Mul, ...set(Q_BYTES));
  // the high half of each 32-bit lane: a bf16 in the upper bits is that f32
  b.push(...simd(0x0c, ...[0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff]), ...set(MASK));
  b.push(0x02, 0x40); // block: nothing to do for zero rows
  b.push(...get(N_ROWS), 0x45, 0x0d, 0); // i32.eqz; br_if 0
  b.push(0x03, 0x40); // loop over 4-row passes
  b.push(...get(ROWS), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(P0));
  b.push(...i32Const(0), ...set(J));
  b.push(0x03, 0x40); // loop over queries
  b.push(...get(QUERIES), ...get(J), ...get(Q_BYTES), ...i32Mul, ...i32Add, ...set(QP));
  b.push(...get(P0), ...tee(P), ...get(ROW_BYTES), ...i32Add, ...set(END));
  for (let i = 0; i < 4; i++) b.push(...v128Zero, ...set(ACC0 + i));
  b.push(0x03, 0x40); // loop over the rows' chunks
  for (let u = 0; u < unroll; u++) {
    const offset = u * 16;
    b.push(...get(QP), ...load(offset * 2), ...set(QV));
    b.push(...get(QP), ...load(offset * 2 + 16), ...set(QV2));
    for (let i = 0; i < 4; i++) {
      b.push(...get(P), ...load(i * stride + offset), ...set(RV));
      b.push(...get(ACC0 + i), ...get(RV), ...i32Const(16), ...i32x4Shl, ...get(QV), ...f32x4Mul, ...f32x4Add);
      b.push(...get(RV), ...get(MASK), ...v128And, ...get(QV2), ...f32x4Mul, ...f32x4Add, ...set(ACC0 + i));
    }
  }
  b.push(...get(QP), ...i32Const(32 * unroll), ...i32Add, ...set(QP));
  b.push(...get(P), ...i32Const(16 * unroll), ...i32Add, ...tee(P), ...get(END), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  // out[(r + i) * nQueries + j] = horizontal sum of acc_i
  for (let i = 0; i < 4; i++) {
    b.push(...get(OUT), ...get(R), ...i32Const(i), ...i32Add, ...get(N_QUERIES), ...i32Mul, ...get(J), ...i32Add);
    b.push(...i32Const(4), ...i32Mul, ...i32Add);
    b.push(...get(ACC0 + i), ...f32x4ExtractLane(0), ...get(ACC0 + i), ...f32x4ExtractLane(1), ...f32Add);
    b.push(...get(ACC0 + i), ...f32x4ExtractLane(2), ...get(ACC0 + i), ...f32x4ExtractLane(3), ...f32Add, ...f32Add);
    b.push(...f32Store);
  }
  b.push(...get(J), ...i32Const(1), ...i32Add, ...tee(J), ...get(N_QUERIES), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  b.push(...get(R), ...i32Const(4), ...i32Add, ...tee(R), ...get(N_ROWS), ...i32LtU, 0x0d, 0);
  b.push(0x0b, 0x0b);
  b.push(0x0b); // end of function
  return b;
}

/**
 * f32 rows against queries two at a time (nQueries even): each row chunk loaded once feeds both
 * queries, so a batch costs fewer loads per product than one query after another. A query is
 * `stride - 16` bytes (the f32 row bytes), which puts the second query at a constant offset.
 */
function pairBody(stride: number): number[] {
  const unroll = UNROLL.f32;
  const [A, Q1, Q2, T] = [17, 25, 26, 27];
  const second = stride - 16;
  const b: number[] = [];
  b.push(0x02, 0x40);
  b.push(...get(N_ROWS), 0x45, 0x0d, 0);
  b.push(0x03, 0x40);
  b.push(...get(ROWS), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(P0));
  b.push(...i32Const(0), ...set(J));
  b.push(0x03, 0x40);
  b.push(...get(QUERIES), ...get(J), ...get(ROW_BYTES), ...i32Mul, ...i32Add, ...set(QP));
  b.push(...get(P0), ...tee(P), ...get(ROW_BYTES), ...i32Add, ...set(END));
  for (let i = 0; i < 8; i++) b.push(...v128Zero, ...set(A + i));
  b.push(0x03, 0x40);
  for (let u = 0; u < unroll; u++) {
    const offset = u * 16;
    b.push(...get(QP), ...load(offset), ...set(Q1), ...get(QP), ...load(offset + second), ...set(Q2));
    for (let i = 0; i < 4; i++) {
      b.push(...get(P), ...load(i * stride + offset), ...set(T));
      b.push(...get(A + i), ...get(T), ...get(Q1), ...f32x4Mul, ...f32x4Add, ...set(A + i));
      b.push(...get(A + 4 + i), ...get(T), ...get(Q2), ...f32x4Mul, ...f32x4Add, ...set(A + 4 + i));
    }
  }
  b.push(...get(QP), ...i32Const(16 * unroll), ...i32Add, ...set(QP));
  b.push(...get(P), ...i32Const(16 * unroll), ...i32Add, ...tee(P), ...get(END), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  for (let q = 0; q < 2; q++)
    for (let i = 0; i < 4; i++) {
      const acc = A + q * 4 + i;
      b.push(...get(OUT), ...get(R), ...i32Const(i), ...i32Add, ...get(N_QUERIES), ...i32Mul, ...get(J), ...i32Add);
      b.push(...i32Const(q), ...i32Add, ...i32Const(4), ...i32Mul, ...i32Add);
      b.push(...get(acc), ...f32x4ExtractLane(0), ...get(acc), ...f32x4ExtractLane(1), ...f32Add);
      b.push(...get(acc), ...f32x4ExtractLane(2), ...get(acc), ...f32x4ExtractLane(3), ...f32Add, ...f32Add);
      b.push(...f32Store);
    }
  b.push(...get(J), ...i32Const(2), ...i32Add, ...tee(J), ...get(N_QUERIES), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  b.push(...get(R), ...i32Const(4), ...i32Add, ...tee(R), ...get(N_ROWS), ...i32LtU, 0x0d, 0);
  b.push(0x0b, 0x0b);
  b.push(0x0b);
  return b;
}

/** f32 rows 8 at a time against one query: one query load feeds 8 rows (nRows padded to 8). */
function eightBody(stride: number): number[] {
  const unroll = UNROLL.f32;
  const [A, Q1] = [17, 25];
  const b: number[] = [];
  b.push(0x02, 0x40);
  b.push(...get(N_ROWS), 0x45, 0x0d, 0);
  b.push(0x03, 0x40);
  b.push(...get(ROWS), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(P0));
  b.push(...i32Const(0), ...set(J));
  b.push(0x03, 0x40);
  b.push(...get(QUERIES), ...get(J), ...get(ROW_BYTES), ...i32Mul, ...i32Add, ...set(QP));
  b.push(...get(P0), ...tee(P), ...get(ROW_BYTES), ...i32Add, ...set(END));
  for (let i = 0; i < 8; i++) b.push(...v128Zero, ...set(A + i));
  b.push(0x03, 0x40);
  for (let u = 0; u < unroll; u++) {
    const offset = u * 16;
    b.push(...get(QP), ...load(offset), ...set(Q1));
    for (let i = 0; i < 8; i++)
      b.push(
        ...get(A + i),
        ...get(P),
        ...load(i * stride + offset),
        ...get(Q1),
        ...f32x4Mul,
        ...f32x4Add,
        ...set(A + i),
      );
  }
  b.push(...get(QP), ...i32Const(16 * unroll), ...i32Add, ...set(QP));
  b.push(...get(P), ...i32Const(16 * unroll), ...i32Add, ...tee(P), ...get(END), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  for (let i = 0; i < 8; i++) {
    const acc = A + i;
    b.push(...get(OUT), ...get(R), ...i32Const(i), ...i32Add, ...get(N_QUERIES), ...i32Mul, ...get(J), ...i32Add);
    b.push(...i32Const(4), ...i32Mul, ...i32Add);
    b.push(...get(acc), ...f32x4ExtractLane(0), ...get(acc), ...f32x4ExtractLane(1), ...f32Add);
    b.push(...get(acc), ...f32x4ExtractLane(2), ...get(acc), ...f32x4ExtractLane(3), ...f32Add, ...f32Add);
    b.push(...f32Store);
  }
  b.push(...get(J), ...i32Const(1), ...i32Add, ...tee(J), ...get(N_QUERIES), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  b.push(...get(R), ...i32Const(8), ...i32Add, ...tee(R), ...get(N_ROWS), ...i32LtU, 0x0d, 0);
  b.push(0x0b, 0x0b);
  b.push(0x0b);
  return b;
}

/** int8 rows 8 at a time against one query: the query's widening is shared by 8 rows. */
function eightInt8Body(stride: number): number[] {
  const unroll = UNROLL.int8;
  const [A, QL, QH, T] = [17, 25, 26, 27];
  const b: number[] = [];
  b.push(0x02, 0x40);
  b.push(...get(N_ROWS), 0x45, 0x0d, 0);
  b.push(0x03, 0x40);
  b.push(...get(ROWS), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(P0));
  b.push(...i32Const(0), ...set(J));
  b.push(0x03, 0x40);
  b.push(...get(QUERIES), ...get(J), ...get(ROW_BYTES), ...i32Mul, ...i32Add, ...set(QP));
  b.push(...get(P0), ...tee(P), ...get(ROW_BYTES), ...i32Add, ...set(END));
  for (let i = 0; i < 8; i++) b.push(...v128Zero, ...set(A + i));
  b.push(0x03, 0x40);
  for (let u = 0; u < unroll; u++) {
    const offset = u * 16;
    b.push(...get(QP), ...load(offset), ...tee(T), ...i16x8ExtendLowI8x16S, ...set(QL));
    b.push(...get(T), ...i16x8ExtendHighI8x16S, ...set(QH));
    for (let i = 0; i < 8; i++) {
      b.push(...get(P), ...load(i * stride + offset), ...set(T));
      b.push(...get(A + i), ...get(T), ...i16x8ExtendLowI8x16S, ...get(QL), ...i32x4DotI16x8S, ...i32x4Add);
      b.push(...get(T), ...i16x8ExtendHighI8x16S, ...get(QH), ...i32x4DotI16x8S, ...i32x4Add, ...set(A + i));
    }
  }
  b.push(...get(QP), ...i32Const(16 * unroll), ...i32Add, ...set(QP));
  b.push(...get(P), ...i32Const(16 * unroll), ...i32Add, ...tee(P), ...get(END), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  for (let i = 0; i < 8; i++) {
    const acc = A + i;
    b.push(...get(OUT), ...get(R), ...i32Const(i), ...i32Add, ...get(N_QUERIES), ...i32Mul, ...get(J), ...i32Add);
    b.push(...i32Const(4), ...i32Mul, ...i32Add);
    b.push(...get(acc), ...i32x4ExtractLane(0), ...get(acc), ...i32x4ExtractLane(1), ...i32Add);
    b.push(...get(acc), ...i32x4ExtractLane(2), ...get(acc), ...i32x4ExtractLane(3), ...i32Add, ...i32Add);
    b.push(...i32Store);
  }
  b.push(...get(J), ...i32Const(1), ...i32Add, ...tee(J), ...get(N_QUERIES), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  b.push(...get(R), ...i32Const(8), ...i32Add, ...tee(R), ...get(N_ROWS), ...i32LtU, 0x0d, 0);
  b.push(0x0b, 0x0b);
  b.push(0x0b);
  return b;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

const name = (text: string) => [...leb(text.length), ...Buffer.from(text, 'latin1')];

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
    ['f32r8', 0, [2, 10, I32, 9, V128], eightBody(stride)],
    ['f32x2', 0, [2, 10, I32, 11, V128], pairBody(stride)],
    ['int8r8', 0, [2, 10, I32, 11, V128], eightInt8Body(stride)],
    ['bf16', 0, [2, 10, I32, 8, V128], bf16Body(stride)],
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
  /** f32 rows, 8 a pass, each query of the batch in turn (the single-query kernel). */
  f32r8: (...args: number[]) => void;
  /** f32 rows, 4 a pass, queries in pairs: nQueries must be even (the batch kernel). */
  f32x2: (...args: number[]) => void;
  /** int8 rows against int8 queries, 8 rows a pass, i32 scores. */
  int8r8: (...args: number[]) => void;
  /** bf16 rows against f32 queries (stored evens-then-odds per 8 values), 4 rows a pass. */
  bf16: (...args: number[]) => void;
  read: (address: number, bytes: number) => number;
}

export function instantiateKernels(memory: WebAssembly.Memory, module: WebAssembly.Module): Kernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
