import { Readable } from 'node:stream';
import { SreInvalidInputError } from '../errors';
import { assertByteSource, chunkToBuffer, collectBytes, isByteStream, toBuffer } from './bytes';

describe('bytes', () => {
  it('views bytes and text as Buffers without copying, keeping a Uint8Array view’s offset', () => {
    const buffer = Buffer.from('abc');
    expect(toBuffer(buffer)).toBe(buffer);
    expect(toBuffer('é')?.equals(Buffer.from([0xc3, 0xa9]))).toBe(true);
    const backing = new Uint8Array([9, 1, 2, 9]);
    const view = toBuffer(backing.subarray(1, 3))!;
    expect([...view]).toEqual([1, 2]);
    backing[1] = 7;
    expect(view[0]).toBe(7);
    expect(toBuffer(42)).toBeUndefined();
    expect(toBuffer({})).toBeUndefined();
  });

  it('recognises streams and refuses anything else as a byte source', () => {
    expect(isByteStream(Readable.from([]))).toBe(true);
    expect(isByteStream((async function* () {})())).toBe(true);
    expect(isByteStream('text')).toBe(false);
    expect(() => assertByteSource('ok')).not.toThrow();
    expect(() => assertByteSource(Readable.from([]))).not.toThrow();
    for (const bad of [42, null, undefined, {}, [1, 2]])
      expect(() => assertByteSource(bad)).toThrow(SreInvalidInputError);
    expect(() => chunkToBuffer(5)).toThrow('a data stream must yield strings, Buffers or Uint8Arrays');
  });

  it('collects any source into a new buffer, never the caller’s', async () => {
    const mine = Buffer.from('mine');
    const whole = await collectBytes(mine);
    expect(whole).not.toBe(mine);
    mine.fill(0);
    expect(whole.toString()).toBe('mine');
    expect((await collectBytes(Readable.from([Buffer.from('a'), 'b', new Uint8Array([99])]))).toString()).toBe('abc');
    expect((await collectBytes(Readable.from([]))).length).toBe(0);
  });

  it('rejects a stream chunk that is not bytes, and a stream’s own error as it is', async () => {
    await expect(collectBytes(Readable.from([Buffer.from('ok'), 42]))).rejects.toThrow(SreInvalidInputError);
    const own = new Error('went away');
    const failing = new Readable({ read: () => failing.destroy(own) });
    await expect(collectBytes(failing)).rejects.toBe(own);
  });
});
