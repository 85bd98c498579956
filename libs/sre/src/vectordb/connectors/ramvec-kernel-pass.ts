/**
 * The loops every RAMVec kernel shares, as WebAssembly bytes: passes of rows, the queries of a
 * batch, slices of the rows, the chunk loop a kernel fills in, and the horizontal sums stored as
 * scores. A kernel (ramvec-kernel.ts) supplies only what one 16-byte chunk of its rows does.
 */

import {
  get,
  set,
  tee,
  i32Const,
  i32Add,
  i32Mul,
  i32LtU,
  select,
  v128Zero,
  f32x4ExtractLane,
  i32x4ExtractLane,
  f32Add,
  f32Store,
  i32Store,
  f32Load,
  i32Load,
  f32Const0,
} from './ramvec-wasm';

// parameters
export const ROWS = 0,
  N_ROWS = 1,
  STRIDE = 2,
  ROW_BYTES = 3,
  QUERIES = 4,
  N_QUERIES = 5,
  OUT = 6;
// i32 locals
export const R = 7,
  J = 8,
  P = 9,
  P0 = 10,
  END = 11,
  AT = 12,
  SCRATCH = 13,
  QP = 14,
  Q_BYTES = 15;
// v128 locals
export const ACC0 = 17,
  QV = 21,
  QV2 = 22,
  RV = 23;

/** What sets one kernel apart; the loops around it, the accumulators and the stores are shared. */
export interface PassShape {
  /** Rows a pass takes, and queries: each (row, query) pair has its accumulator from ACC0 on. */
  rows: number;
  queries: number;
  unroll: number;
  /** The local holding a query's bytes, and the bytes a query pointer moves per chunk turn. */
  queryBytes: number;
  queryStep: number;
  /** Scores as f32 or i32 lanes. */
  lanes: 'f32' | 'i32';
  /** Before the loops (constants into locals). */
  prelude?: number[];
  /** Accumulators zeroed per pass (default one per row and query), and what folds them into those. */
  accumulators?: number;
  fold?: number[];
  /** One 16-byte chunk at `offset` of every row of the pass, into the accumulators. */
  chunk: (offset: number) => number[];
  /**
   * Bytes of each row that every query of the batch takes in turn before the next slice (without,
   * the whole row): the pass's slices and the batch's queries' stay in L1 together (whole rows
   * of 1536 dimensions and 8 queries do not), each slice adding its sums to the scores of the
   * earlier ones.
   */
  slice?: number;
  /** Query bytes a row byte takes (default 1): a slice's offset in the queries is that many times its offset in the rows. */
  queryBytesPerRowByte?: 1 | 2;
}

/** A kernel body: rows `shape.rows` a pass, queries `shape.queries` at a time, each chunk by `shape.chunk`. */
export function passBody(shape: PassShape): number[] {
  const { rows, queries, unroll, slice } = shape;
  const [extract, add, store, earlier] =
    shape.lanes === 'f32'
      ? [f32x4ExtractLane, f32Add, f32Store, [...f32Load, ...f32Const0]]
      : [i32x4ExtractLane, i32Add, i32Store, [...i32Load, ...i32Const(0)]];
  const b: number[] = [...(shape.prelude ?? [])];
  b.push(0x02, 0x40); // block: nothing to do for zero rows
  b.push(...get(N_ROWS), 0x45, 0x0d, 0); // i32.eqz; br_if 0
  b.push(0x03, 0x40); // loop over passes of rows
  b.push(...get(ROWS), ...get(R), ...get(STRIDE), ...i32Mul, ...i32Add, ...set(P0));
  if (slice) b.push(...i32Const(0), ...set(AT), 0x03, 0x40); // loop over slices of the rows, AT the offset
  b.push(...i32Const(0), ...set(J));
  b.push(0x03, 0x40); // loop over queries
  b.push(...get(QUERIES), ...get(J), ...get(shape.queryBytes), ...i32Mul, ...i32Add, ...set(QP));
  if (slice) {
    // from the slice's start to min(its end, the row's end)
    b.push(...get(QP), ...get(AT), ...i32Add);
    // bf16 rows: 2 query bytes (an f32) to a row byte
    if (shape.queryBytesPerRowByte === 2) b.push(...get(AT), ...i32Add);
    b.push(...set(QP));
    b.push(...get(P0), ...get(AT), ...i32Add, ...tee(P), ...i32Const(slice), ...i32Add, ...set(END));
    b.push(...get(END), ...get(P0), ...get(ROW_BYTES), ...i32Add, ...tee(SCRATCH));
    b.push(...get(END), ...get(SCRATCH), ...i32LtU, ...select, ...set(END));
  } else b.push(...get(P0), ...tee(P), ...get(ROW_BYTES), ...i32Add, ...set(END));
  for (let i = 0; i < (shape.accumulators ?? rows * queries); i++) b.push(...v128Zero, ...set(ACC0 + i));
  b.push(0x03, 0x40); // loop over the rows' chunks
  for (let u = 0; u < unroll; u++) b.push(...shape.chunk(u * 16));
  b.push(...get(QP), ...i32Const(shape.queryStep), ...i32Add, ...set(QP));
  b.push(...get(P), ...i32Const(16 * unroll), ...i32Add, ...tee(P), ...get(END), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  b.push(...(shape.fold ?? []));
  // out[(r + i) * nQueries + j + q] = horizontal sum of the (row i, query q) accumulator, plus
  // the earlier slices' sums (none at the first)
  for (let q = 0; q < queries; q++)
    for (let i = 0; i < rows; i++) {
      const acc = ACC0 + q * rows + i;
      b.push(...get(OUT), ...get(R), ...i32Const(i), ...i32Add, ...get(N_QUERIES), ...i32Mul, ...get(J), ...i32Add);
      if (queries > 1) b.push(...i32Const(q), ...i32Add);
      b.push(...i32Const(4), ...i32Mul, ...i32Add);
      if (slice) b.push(...tee(SCRATCH), ...get(SCRATCH), ...earlier, ...get(AT), ...select);
      b.push(...get(acc), ...extract(0), ...get(acc), ...extract(1), ...add);
      b.push(...get(acc), ...extract(2), ...get(acc), ...extract(3), ...add, ...add);
      if (slice) b.push(...add);
      b.push(...store);
    }
  b.push(...get(J), ...i32Const(queries), ...i32Add, ...tee(J), ...get(N_QUERIES), ...i32LtU, 0x0d, 0);
  b.push(0x0b);
  if (slice) b.push(...get(AT), ...i32Const(slice), ...i32Add, ...tee(AT), ...get(ROW_BYTES), ...i32LtU, 0x0d, 0, 0x0b);
  b.push(...get(R), ...i32Const(rows), ...i32Add, ...tee(R), ...get(N_ROWS), ...i32LtU, 0x0d, 0);
  b.push(0x0b, 0x0b);
  b.push(0x0b); // end of function
  return b;
}
