import type { RowEncoding } from './ramvec-kernel';

/** A unit of fp32 rounding (relative). */
const U = 2 ** -24;
/** The largest i16 code of a query for int8 rows (symmetric, as the rows' codes are). */
const I16_MAX = 32_767;
/** One f32 and its bits, for the bf16 and split-row conversions. */
const bits = new Float32Array(1);
const bitsU32 = new Uint32Array(bits.buffer);

/** A query as the kernel reads it, and the bound on how far the kernel's cosine is from the exact one. */
export interface Prepared {
  values: ArrayLike<number>;
  invQ: number;
  /** What the kernel reads: f32 values, or (int8 rows) i16 codes carried in an f32 array. */
  encoded: Float32Array | Int8Array;
  qFactor: number;
  /** |approximate - exact cosine| <= deltaBase + deltaScale * the row's stored error. */
  deltaBase: number;
  deltaScale: number;
}

/**
 * Writes an int8 row: its fp32 originals into `originals`, its codes into `i8` at `base`.
 * Returns its inverse norm, its score factor and its relative quantization error
 * |a - a'| / |a| (rounded up on its way to f32).
 */
export function quantizeInt8Row(
  values: ArrayLike<number>,
  dimensions: number,
  originals: Float32Array,
  i8: Int8Array,
  base: number,
): { inverse: number; factor: number; error: number } {
  let squares = 0;
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
  return { inverse, factor: scale * inverse, error: Math.sqrt(error) * inverse * (1 + 2 ** -20) };
}

/**
 * How far the values the bf16 kernels multiply are from `exact` (the row's values), relative to
 * their norm `inverse` (0 for a zero row), rounded up on its way to f32. The kernels read an
 * even element exactly and an odd one with the even element's 16 bits below it (see
 * `bf16Body`): within one bf16 unit of it, measured here value by value.
 */
export function bf16KernelError(
  u16: Uint16Array,
  at: number,
  dimensions: number,
  exact: (i: number) => number,
  inverse: number,
): number {
  let residuals = 0;
  for (let i = 0; i < dimensions; i++) {
    // exact in double: both are f32 values within a bf16 unit of each other
    const residual = exact(i) - joinFloat(u16[at + i], i & 1 ? u16[at + i - 1] : 0);
    residuals += residual * residual;
  }
  return Math.sqrt(residuals) * inverse * (1 + 2 ** -20);
}

/**
 * Writes a bf16 row (each value rounded to the nearest) at byte `base` through the memory's
 * `u16` view. Returns its inverse norm over the values as stored (a zero vector's is 0: it
 * scores 0 against everything) and the kernels' relative error on it (`bf16KernelError`).
 */
export function encodeBf16Row(
  values: ArrayLike<number>,
  dimensions: number,
  u16: Uint16Array,
  base: number,
): { inverse: number; error: number } {
  let squares = 0;
  const at = base / 2;
  for (let i = 0; i < dimensions; i++) {
    u16[at + i] = toBf16(values[i]);
    const value = fromBf16(u16[at + i]);
    squares += value * value;
  }
  const inverse = squares > 0 ? 1 / Math.sqrt(squares) : 0;
  return { inverse, error: bf16KernelError(u16, at, dimensions, (i) => fromBf16(u16[at + i]), inverse) };
}

/**
 * Writes an fp32 row split in two: the high 16 bits of each value (a bf16, rounded toward zero)
 * into `u16` at byte `base`, where the scan reads them, and the low 16 bits into `lows` at
 * `lowAt`, which only the exact rescore reads: the two halves put together are the fp32 value,
 * bit for bit. Returns the inverse norm of the fp32 values and the kernels' relative error on
 * them (`bf16KernelError`): the scan's scores are off by at most that much of |a| |q| beyond
 * fp32 rounding.
 */
export function splitFloatRow(
  values: ArrayLike<number>,
  dimensions: number,
  u16: Uint16Array,
  base: number,
  lows: Uint16Array,
  lowAt: number,
): { inverse: number; error: number } {
  let squares = 0;
  const at = base / 2;
  for (let i = 0; i < dimensions; i++) {
    bits[0] = values[i];
    const value = bits[0];
    const word = bitsU32[0];
    u16[at + i] = word >>> 16;
    lows[lowAt + i] = word & 0xffff;
    squares += value * value;
  }
  const inverse = squares > 0 ? 1 / Math.sqrt(squares) : 0;
  const exact = (i: number) => joinFloat(u16[at + i], lows[lowAt + i]);
  return { inverse, error: bf16KernelError(u16, at, dimensions, exact, inverse) };
}

/** The fp32 value whose high and low 16 bits are `high` and `low` (see `splitFloatRow`). */
export function joinFloat(high: number, low: number): number {
  bitsU32[0] = (high << 16) | low;
  return bits[0];
}

/**
 * The query as the kernel reads it, and how far the kernel's approximate cosine can be from
 * the exact one: fp32 sums of `padded` products stay within (padded + 16) units of fp32
 * rounding of |row| |query|, plus (f32 rows, scanned by their high halves) the row's relative
 * error; int8 within the rows' and the query's relative quantization errors.
 */
export function prepareQuery(
  query: ArrayLike<number>,
  dimensions: number,
  padded: number,
  encoding: RowEncoding,
): Prepared {
  let squares = 0;
  for (let i = 0; i < dimensions; i++) squares += query[i] * query[i];
  const invQ = squares > 0 ? 1 / Math.sqrt(squares) : 0;
  if (encoding !== 'int8') {
    // both are scanned as bf16 (f32 rows by their high halves): each 8 values as the kernel
    // pairs them, evens then odds
    const encoded = new Float32Array(padded);
    for (let i = 0; i < dimensions; i++) encoded[(i & ~7) + ((i & 1) << 2) + ((i & 7) >> 1)] = query[i];
    const delta = (padded + 16) * U * 1.01 + 1e-12;
    // what the kernel multiplies is within the row's stored relative error of its values; 1.001
    // covers the bound's own roundings and the fp32 rounding of that error's share of the sum
    return { values: query, invQ, encoded, qFactor: invQ, deltaBase: delta, deltaScale: 1.001 };
  }
  // i16 codes, as fine as the kernel's i32 sums allow: every partial sum of code products stays
  // within 127 x sum|code| <= 2^31 - 1 (so no lane wraps), which caps sum|code| rather than the
  // largest code; a query quantized like the rows (127 levels) kept half of the error bound,
  // this makes it negligible next to the rows' own
  let largest = 0;
  let absolute = 0;
  for (let i = 0; i < dimensions; i++) {
    largest = Math.max(largest, Math.abs(query[i]));
    absolute += Math.abs(query[i]);
  }
  // rounding adds at most 1/2 a code per dimension to sum|code|
  const budget = Math.floor((2 ** 31 - 1) / 127) - dimensions;
  const scale = Math.max(largest / I16_MAX, absolute / budget) * (1 + 2 ** -20);
  const codes = new Int16Array(padded);
  let error = 0;
  for (let i = 0; i < dimensions; i++) {
    const code = scale > 0 ? Math.max(-I16_MAX, Math.min(I16_MAX, Math.round(query[i] / scale))) : 0;
    codes[i] = code;
    error += (query[i] - code * scale) ** 2;
  }
  const epsilon = Math.sqrt(error) * invQ;
  // |a.q - a'.q'| <= |a - a'| |q| + |a'| |q - q'|, with |a'| <= |a| (1 + rho): per unit of
  // |a| |q|, rho + (1 + rho) epsilon; 1e-6 covers the f32 roundings of the factors
  return {
    values: query,
    invQ,
    // the i16 codes' bytes, as f32 lanes only so the memory's f32 copy moves them bit for bit
    encoded: new Float32Array(codes.buffer),
    qFactor: scale * invQ,
    deltaBase: epsilon * 1.001 + 1e-6,
    deltaScale: (1 + epsilon) * 1.001,
  };
}

/** Rounds to the nearest bf16 (ties to even), as its 16 stored bits. */
export function toBf16(value: number): number {
  bits[0] = value;
  const u = bitsU32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16(stored: number): number {
  bitsU32[0] = stored << 16;
  return bits[0];
}
