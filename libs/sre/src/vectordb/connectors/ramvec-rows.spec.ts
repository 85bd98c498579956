import { SreInvalidInputError, SreUnavailableError } from '../../core/errors';
import { instantiateKernels, kernelBytes, kernelModule } from './ramvec-kernel';
import { prepareQuery, splitFloatRow } from './ramvec-codec';
import type { RowMemory } from './ramvec-memory';
import { RAMVecPool } from './ramvec-pool';
import { VectorRows, type RAMVecQuantization } from './ramvec-rows';
import { scanSlice } from './ramvec-scan';
import { sliceParams } from './ramvec-search';

const DIMENSIONS = 72; // not a multiple of the kernel's 32: the padding is exercised

function generator(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
}

/** The reference: every stored row scored in double precision, best first, ties by row. */
function bruteForce(rows: VectorRows<number>, query: number[], k: number, only?: (id: number) => boolean) {
  let qq = 0;
  for (const x of query) qq += x * x;
  const invQ = qq > 0 ? 1 / Math.sqrt(qq) : 0;
  const scored: { row: number; score: number }[] = [];
  for (let row = 0; row < rows.size; row++) {
    if (only && !only(rows.payload(row))) continue;
    const a = rows.values(row);
    let dot = 0,
      aa = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i] * query[i];
      aa += a[i] * a[i];
    }
    scored.push({ row, score: dot * (aa > 0 ? 1 / Math.sqrt(aa) : 0) * invQ });
  }
  return scored.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
}

function fill(rows: VectorRows<number>, count: number, random: () => number, firstId = 0): void {
  const kept: number[][] = [];
  for (let i = 0; i < count; i++) {
    // every 17th row repeats an earlier one: exact ties must come out in row order
    const values =
      i % 17 === 16 && kept.length > 0
        ? kept[i % kept.length]
        : Array.from({ length: DIMENSIONS }, () => random() * (1 + (i % 5)));
    kept.push(values);
    rows.add(values, firstId + i);
  }
}

describe('VectorRows (WASM kernel, worker pool, exact rescore)', () => {
  let pool: RAMVecPool;
  beforeAll(() => {
    pool = new RAMVecPool(2);
  });
  afterAll(() => pool.close());

  it('assembles a valid WebAssembly module whose int8 kernels compute the dot products exactly', () => {
    expect(WebAssembly.validate(kernelBytes(6160))).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const i8 = new Int8Array(memory.buffer);
    const i16 = new Int16Array(memory.buffer);
    const random = generator(21);
    const [dims, rows, queries, out] = [64, 24, 4, 100_000];
    const stride = dims + 16;
    const queryAt = 50_000;
    // int8 codes at their extremes too; queries: i16 codes up to +-32767
    for (let r = 0; r < rows + 8; r++)
      for (let i = 0; i < dims; i++)
        i8[r * stride + i] = r % 3 === 0 ? (i % 2 ? 127 : -127) : Math.round(random() * 127);
    for (let i = 0; i < queries * dims; i++)
      i16[queryAt / 2 + i] = i % 7 === 0 ? 32_767 * Math.sign(random()) : Math.round(random() * 32_767);
    const kernels = instantiateKernels(memory, kernelModule(stride));
    for (const [kernel, nq] of [
      [kernels.int8r1, 1],
      [kernels.int8r4, queries],
    ] as const) {
      new Uint8Array(memory.buffer).fill(0, out, out + rows * queries * 4);
      kernel(0, rows, stride, dims, queryAt, nq, out);
      const scores = new Int32Array(memory.buffer, out);
      for (let r = 0; r < rows; r++)
        for (let q = 0; q < nq; q++) {
          let dot = 0;
          for (let i = 0; i < dims; i++) dot += i8[r * stride + i] * i16[queryAt / 2 + q * dims + i];
          expect(scores[r * nq + q]).toBe(dot);
        }
    }
  });

  it('bf16 kernels (one query, and pairs of queries over rows in L1): within the row error the codec stores', () => {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true });
    const buffer = memory.buffer;
    const [u16, f32] = [new Uint16Array(buffer), new Float32Array(buffer)];
    const random = generator(5);
    const [rows, queries, queryAt, out] = [13, 5, 600_000, 900_000];
    for (const dims of [32, 96, 1536]) {
      const rowBytes = dims * 2;
      const stride = rowBytes + 16;
      const exact: number[][] = [];
      const errors: number[] = [];
      for (let r = 0; r < rows + 8; r++) {
        // f32 rows split as RowMemory splits them, scales apart so the bf16 units differ
        const values = Array.from({ length: dims }, (_, i) => random() * 10 ** ((i % 7) - 3));
        const split = splitFloatRow(values, dims, u16, r * stride, new Uint16Array(dims), 0);
        exact.push(values.map((v) => Math.fround(v)));
        errors.push(split.error);
      }
      const query = Array.from({ length: queries * dims }, () => random());
      const prepared = Array.from({ length: queries }, (_, q) =>
        prepareQuery(query.slice(q * dims, (q + 1) * dims), dims, dims, 'f32'),
      );
      prepared.forEach((p, q) => f32.set(p.encoded, queryAt / 4 + q * dims));
      const kernels = instantiateKernels(memory, kernelModule(stride));
      // a pair kernel takes an even number of queries: 5 are scored as 6 (one slot unread)
      for (const [kernel, nq, width] of [
        [kernels.bf16r1, 1, 1],
        [kernels.bf16x2, queries, queries + 1],
      ] as const) {
        kernel(0, rows, stride, rowBytes, queryAt, width, out);
        const scores = new Float32Array(buffer, out, rows * width);
        for (let r = 0; r < rows; r++)
          for (let q = 0; q < nq; q++) {
            let dot = 0,
              aa = 0,
              qq = 0;
            for (let i = 0; i < dims; i++) {
              dot += exact[r][i] * query[q * dims + i];
              aa += exact[r][i] ** 2;
              qq += query[q * dims + i] ** 2;
            }
            const norms = Math.sqrt(aa * qq);
            const off = Math.abs(scores[r * width + q] - dot) / norms;
            const bound = prepared[q].deltaBase + prepared[q].deltaScale * errors[r];
            expect([dims, r, q, off <= bound, bound < 0.02]).toEqual([dims, r, q, true, true]);
          }
      }
    }
  });

  for (const quantization of ['none', 'int8', 'bf16'] as RAMVecQuantization[]) {
    it(`${quantization}: equals a double-precision brute force across sizes, k, deletes, filters and concurrent queries`, async () => {
      const random = generator(quantization.length * 7 + 1);
      // 400 rows stay on the main thread, the larger sizes go to the workers
      const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool, quantization, workerThreshold: 600 });
      let nextId = 0;
      for (const grow of [400, 900, 2500]) {
        fill(rows, grow, random, nextId);
        nextId += grow;
        const removed = rows.removeWhere((id) => id % 7 === 3);
        expect(removed).toBeGreaterThan(0);
        for (let row = 0; row < rows.size; row++) expect(rows.payload(row) % 7).not.toBe(3);
        const queries = Array.from({ length: 6 }, () => Array.from({ length: DIMENSIONS }, random));
        // a stored row as the query: its own score must be the exact best
        queries.push(rows.values(5));
        const only = (id: number) => id % 3 !== 0;
        const cases = queries.flatMap((query, i) => [
          { query, k: [1, 10, 37][i % 3], only: undefined },
          { query, k: 10, only },
        ]);
        // all at once: the worker path batches them into shared passes
        const results = await Promise.all(cases.map(({ query, k, only }) => rows.nearest(query, k, only)));
        results.forEach((got, i) => {
          const { query, k, only } = cases[i];
          const expected = bruteForce(rows, query, k, only);
          expect(got.map((hit) => hit.row)).toEqual(expected.map((hit) => hit.row));
          expect(got.map((hit) => hit.score)).toEqual(expected.map((hit) => hit.score));
          got.forEach((hit) => expect(hit.payload).toBe(rows.payload(hit.row)));
        });
      }
      rows.dispose();
    });
  }

  it("int8: exact where the i16 query codes reach the i32 sums' limit, and among near-ties inside the error bound", async () => {
    // a constant query at 4096 dimensions spends the whole budget of sum|code| (127 x its sum is
    // just under 2^31) against rows of +-127 codes: a sum past it would wrap and sort last
    const dimensions = 4096;
    const random = generator(17);
    const query = Array.from({ length: dimensions }, () => 1);
    const cases = [
      Array.from({ length: dimensions }, () => 1),
      Array.from({ length: dimensions }, () => -1),
      Array.from({ length: dimensions }, (_, i) => (i % 2 ? 1 : -1)),
      // within the int8 error bound of each other: only the rescore can order them
      ...Array.from({ length: 40 }, () => Array.from({ length: dimensions }, () => 1 + random() * 1e-3)),
      ...Array.from({ length: 20 }, () => Array.from({ length: dimensions }, random)),
    ];
    for (const workerThreshold of [Infinity, 0]) {
      const rows = new VectorRows<number>(dimensions, undefined, { pool, quantization: 'int8', workerThreshold });
      cases.forEach((values, i) => rows.add(values, i));
      for (const k of [1, 5, 30]) {
        const got = await rows.nearest(query, k);
        const expected = bruteForce(rows, query, k);
        expect(got.map((hit) => hit.row)).toEqual(expected.map((hit) => hit.row));
        expect(got.map((hit) => hit.score)).toEqual(expected.map((hit) => hit.score));
      }
      const worst = await rows.nearest(query, cases.length);
      expect(worst[worst.length - 1].row).toBe(1);
      rows.dispose();
    }
  });

  it('none: keeps every fp32 value bit for bit, and orders rows whose high halves are equal by their whole values', async () => {
    const random = generator(29);
    const awkward = [0, -0, 1e-40, -1e-45, 3.4e38, -3.4e38, 1, -1, 0.1, 2 ** -126, 65_536.5];
    const inserted = [
      Array.from({ length: DIMENSIONS }, (_, i) => awkward[i % awkward.length]),
      // one value apart below the high 16 bits (the same bf16, 1 + 2^-9 apart at most): the scan
      // cannot tell these apart, only the rescore on the whole values can
      ...Array.from({ length: 30 }, (_, r) =>
        Array.from({ length: DIMENSIONS }, (_, i) => (i % 2 ? 1 : -1) * (1 + ((r * 37 + i) % 64) * 2 ** -16)),
      ),
      ...Array.from({ length: 30 }, () => Array.from({ length: DIMENSIONS }, random)),
    ];
    const query = Array.from({ length: DIMENSIONS }, (_, i) => (i % 2 ? 1 : -1) * (1 + random() * 1e-3));
    for (const workerThreshold of [Infinity, 0]) {
      const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool, workerThreshold });
      inserted.forEach((values, i) => rows.add(values, i));
      inserted.forEach((values, row) => {
        const stored = new Float32Array(rows.values(row));
        expect(new Uint32Array(stored.buffer)).toEqual(new Uint32Array(Float32Array.from(values).buffer));
      });
      // the reference scores the inserted values (as fp32), not what the rows give back
      const scored = inserted.slice(1).map((values, i) => {
        const a = Float32Array.from(values);
        let dot = 0,
          aa = 0,
          qq = 0;
        for (let j = 0; j < DIMENSIONS; j++) {
          dot += a[j] * query[j];
          aa += a[j] * a[j];
          qq += query[j] * query[j];
        }
        return { row: i + 1, score: dot * (1 / Math.sqrt(aa)) * (1 / Math.sqrt(qq)) };
      });
      scored.sort((a, b) => b.score - a.score || a.row - b.row);
      for (const k of [1, 10, 25]) {
        const got = await rows.nearest(query, k, (id) => id !== 0);
        expect(got.map((hit) => hit.row)).toEqual(scored.slice(0, k).map((hit) => hit.row));
        expect(got.map((hit) => hit.score)).toEqual(scored.slice(0, k).map((hit) => hit.score));
      }
      rows.dispose();
    }
  });

  it('at 1536 dimensions past the default threshold: moves to a larger memory, and rescans rows removed mid-search', async () => {
    const dimensions = 1536;
    const random = generator(11);
    const rows = new VectorRows<number>(dimensions, undefined, { pool });
    // 6,000 rows (3 KB scanned each) pass the first memory's 16 MB reservation (a move) and the
    // 16 MB worker threshold
    for (let i = 0; i < 6000; i++)
      rows.add(
        Array.from({ length: dimensions }, () => random()),
        i,
      );
    expect((rows as unknown as { generation: number }).generation).toBeGreaterThan(0);
    const query = Array.from({ length: dimensions }, () => random());
    const reference = (k: number) => {
      let qq = 0;
      for (const x of query) qq += x * x;
      const scored: { row: number; score: number }[] = [];
      for (let row = 0; row < rows.size; row++) {
        const a = rows.values(row);
        let dot = 0,
          aa = 0;
        for (let i = 0; i < dimensions; i++) {
          dot += a[i] * query[i];
          aa += a[i] * a[i];
        }
        scored.push({ row, score: dot * (1 / Math.sqrt(aa)) * (1 / Math.sqrt(qq)) });
      }
      return scored
        .sort((a, b) => b.score - a.score || a.row - b.row)
        .slice(0, k)
        .map((hit) => hit.row);
    };
    expect((await rows.nearest(query, 10)).map((hit) => hit.row)).toEqual(reference(10));
    const searching = rows.nearest(query, 10);
    // rows move while the workers scan: the pass is run again over the packed rows
    rows.removeWhere((id) => id % 2 === 0);
    const found = await searching;
    expect(found.map((hit) => hit.row)).toEqual(reference(10));
    found.forEach((hit) => expect(hit.payload % 2).toBe(1));
    rows.dispose();
  });

  it("a scanner claims chunks of its own pass only, never moving another pass's counter", () => {
    const rows = new VectorRows<number>(DIMENSIONS, undefined, {});
    fill(rows, 1000, generator(41));
    const memory = (rows as unknown as { rows: RowMemory }).rows;
    const query = Array.from({ length: DIMENSIONS }, generator(42));
    const prepared = prepareQuery(query, DIMENSIONS, memory.padded, 'f32');
    memory.writeQuery(memory.mainQuery, prepared);
    const params = sliceParams(memory, 0, rows.size, memory.mainQuery, memory.mainOut, [{ prepared, k: 5 }], [null]);
    const counter = new Uint32Array(memory.memory.buffer, memory.claims, 1);
    const pass = (tag: number) => ({ ...params, claims: memory.claims, tag, chunk: 256 });
    Atomics.store(counter, 0, 7 * 2 ** 20);
    // a scanner left over from pass 6 (its pass failed) while pass 7 runs: it takes nothing
    const [stale] = scanSlice(memory.here, memory.memory.buffer, pass(6));
    expect(stale.rows).toEqual([]);
    expect(Atomics.load(counter, 0)).toBe(7 * 2 ** 20);
    // pass 7's scanner claims the 4 chunks of 1000 rows, and its candidates hold the answer
    const [own] = scanSlice(memory.here, memory.memory.buffer, pass(7));
    expect(Atomics.load(counter, 0)).toBe(7 * 2 ** 20 + 4);
    for (const { row } of bruteForce(rows, query, 5)) expect(own.rows).toContain(row);
    // a scanner that comes when every chunk is taken scans nothing
    expect(scanSlice(memory.here, memory.memory.buffer, pass(7))[0].rows).toEqual([]);
  });

  it('answers a zero query and a k beyond the rows', async () => {
    const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool, workerThreshold: 0 });
    fill(rows, 30, generator(3));
    const zero = await rows.nearest(new Array(DIMENSIONS).fill(0), 5);
    expect(zero.map((hit) => hit.row)).toEqual([0, 1, 2, 3, 4]);
    const query = Array.from({ length: DIMENSIONS }, generator(4));
    const all = await rows.nearest(query, 100);
    expect(all.map((hit) => hit.row)).toEqual(bruteForce(rows, query, 100).map((hit) => hit.row));
    expect(all).toHaveLength(30);
    rows.dispose();
  });

  it('refuses a vector of the wrong dimension', async () => {
    const rows = new VectorRows<number>(DIMENSIONS, { subsystem: 'VectorDB', connector: 'RAMVec' }, { pool });
    expect(() => rows.add([1, 2, 3], 1)).toThrow(SreInvalidInputError);
    await expect(rows.nearest([1, 2, 3], 1)).rejects.toThrow(
      "a vector of 3 dimensions does not fit this namespace's 72",
    );
  });

  it('fails a search clearly when its worker dies, and recovers on the next', async () => {
    const own = new RAMVecPool(2);
    const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool: own, workerThreshold: 0 });
    fill(rows, 2000, generator(5));
    const query = Array.from({ length: DIMENSIONS }, generator(6));
    const searching = rows.nearest(query, 10);
    // the pass starts a promise job later; waiting on promise jobs alone, the worker (still
    // starting) cannot have answered: its message would come in a later turn of the event loop
    const slots = (own as unknown as { slots: ({ worker: { terminate(): Promise<number> } } | undefined)[] }).slots;
    for (let jobs = 0; !slots[0] && jobs < 10; jobs++) await Promise.resolve();
    await slots[0]!.worker.terminate();
    await expect(searching).rejects.toThrow(SreUnavailableError);
    const again = await rows.nearest(query, 10);
    expect(again.map((hit) => hit.row)).toEqual(bruteForce(rows, query, 10).map((hit) => hit.row));
    await own.close();
  });

  it('callers who search again as soon as they are answered share the next pass', async () => {
    const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool, workerThreshold: 0 });
    fill(rows, 300, generator(12));
    const query = Array.from({ length: DIMENSIONS }, generator(13));
    const scan = jest.spyOn(pool, 'scan');
    try {
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 3; i++) await rows.nearest(query, 3);
        }),
      );
      // every pass scored all four queries: none went alone while the others waited for the next
      const batches = scan.mock.calls.map(([, , , , params]) => params.nq);
      expect(batches.length).toBeGreaterThanOrEqual(3);
      expect(new Set(batches)).toEqual(new Set([4]));
    } finally {
      scan.mockRestore();
      rows.dispose();
    }
  });

  it('a worker that stays ready between passes takes the next scans right, and keeps nothing alive', async () => {
    // one of the two workers of every pass finishes while the other still scans and stays
    // ready (for 10 s here) for its next scan, which it reads off its port synchronously
    const ready = new RAMVecPool(2, undefined, 10_000);
    const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool: ready, workerThreshold: 0 });
    const other = new VectorRows<number>(DIMENSIONS, undefined, { pool: ready, workerThreshold: 0 });
    fill(rows, 700, generator(31));
    fill(other, 300, generator(32));
    const random = generator(33);
    try {
      for (let i = 0; i < 12; i++) {
        const query = Array.from({ length: DIMENSIONS }, random);
        const hits = await rows.nearest(query, 5);
        expect(hits.map(({ row, score }) => ({ row, score }))).toEqual(bruteForce(rows, query, 5));
        if (i === 4) await other.nearest(query, 3);
        // a detach reaches a worker that waits for a scan, and the next scan still finds its memory
        if (i === 6) other.dispose();
        if (i === 8) rows.removeWhere((id) => id % 7 === 0);
      }
      // unref'd while idle (also the port its listener would ref): nothing holds the process open
      expect(process.getActiveResourcesInfo().filter((name) => /Worker|MessagePort/.test(name))).toEqual([]);
    } finally {
      rows.dispose();
      // a worker still waiting for a scan is terminated like an idle one
      await ready.close();
    }
  });

  it('a worker ready for its next scan sleeps when its window ends, even after a ring it had no scan for', async () => {
    // a ring can come after its scan was already taken from the event loop (a scan with no rows
    // left to claim ends within the microsecond between the post and the ring); here faked
    const ready = new RAMVecPool(2, undefined, 20);
    const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool: ready, workerThreshold: 0 });
    fill(rows, 600, generator(51));
    const query = Array.from({ length: DIMENSIONS }, generator(52));
    const bells = (ready as unknown as { bells: Int32Array }).bells;
    try {
      const expected = bruteForce(rows, query, 3).map(({ row }) => row);
      expect((await rows.nearest(query, 3)).map(({ row }) => row)).toEqual(expected);
      // one of the two is in its 20 ms window now
      for (const index of [0, 1]) Atomics.add(bells, index, 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const used = process.cpuUsage(before);
      // a worker spinning on would have used the whole 300 ms of a core
      expect((used.user + used.system) / 1000).toBeLessThan(150);
      expect((await rows.nearest(query, 3)).map(({ row }) => row)).toEqual(expected);
    } finally {
      rows.dispose();
      await ready.close();
    }
  });

  it('keeps no worker alive once closed, and fails searches still waiting', async () => {
    const own = new RAMVecPool(2);
    const rows = new VectorRows<number>(DIMENSIONS, undefined, { pool: own, workerThreshold: 0 });
    fill(rows, 1000, generator(8));
    const query = Array.from({ length: DIMENSIONS }, generator(9));
    await rows.nearest(query, 3);
    const workers = (own as unknown as { slots: ({ worker: { threadId: number } } | undefined)[] }).slots;
    expect(workers.filter(Boolean)).toHaveLength(2);
    const pending = expect(rows.nearest(query, 3)).rejects.toThrow(SreUnavailableError);
    await own.close();
    await pending;
    expect(workers.filter(Boolean)).toHaveLength(0);
    expect(process.getActiveResourcesInfo().filter((name) => /Worker|MessagePort/.test(name))).toEqual([]);
    rows.dispose();
    await expect(rows.nearest(query, 3)).rejects.toThrow(SreUnavailableError);
  });
});
