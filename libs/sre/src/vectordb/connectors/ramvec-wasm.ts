/** WebAssembly binary-format pieces the RAMVec kernels are assembled from (opcodes, LEB128, sections). */

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128, as the binary format writes every index and immediate. */
export function leb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

export const simd = (op: number, ...immediates: number[]) => [0xfd, ...leb(op), ...immediates];
export const get = (local: number) => [0x20, ...leb(local)];
export const set = (local: number) => [0x21, ...leb(local)];
export const tee = (local: number) => [0x22, ...leb(local)];
export const i32Const = (value: number) => [0x41, ...signedLeb(value)];
export const i32Add = [0x6a];
export const i32Mul = [0x6c];
export const i32LtU = [0x49];
export const f32Const0 = [0x43, 0, 0, 0, 0];
/** The first of two values when the i32 above them is nonzero, else the second. */
export const select = [0x1b];
export const v128Zero = simd(0x0c, ...new Array(16).fill(0));
export const f32x4Add = simd(0xe4);
export const f32x4Mul = simd(0xe6);
export const i32x4Add = simd(0xae);
export const i32x4Shl = simd(0xab);
export const v128And = simd(0x4e);
export const i32x4DotI16x8S = simd(0xba);
export const i16x8ExtendLowI8x16S = simd(0x87);
export const i16x8ExtendHighI8x16S = simd(0x88);
export const f32x4ExtractLane = (lane: number) => simd(0x1f, lane);
export const i32x4ExtractLane = (lane: number) => simd(0x1b, lane);
export const f32Add = [0x92];
export const f32Load = [0x2a, 2, 0];
export const f32Store = [0x38, 2, 0];
export const i32Load = [0x28, 2, 0];
export const i32Store = [0x36, 2, 0];

export function signedLeb(value: number): number[] {
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

/** Loads 16 bytes at the address on the stack plus a constant offset (memarg: align 2^4, offset). */
export const load = (offset: number) => simd(0x00, 4, ...leb(offset));

export function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

export const name = (text: string) => [...leb(text.length), ...Buffer.from(text, 'latin1')];
