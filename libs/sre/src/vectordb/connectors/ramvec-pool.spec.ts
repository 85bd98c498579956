import { RAMVecPool } from './ramvec-pool';
import { VectorRows } from './ramvec-rows';

// as under a permission model that denies threads: constructing a worker throws
jest.mock('node:worker_threads', () => ({
  ...jest.requireActual<object>('node:worker_threads'),
  Worker: class {
    constructor() {
      throw new Error('worker threads are not allowed');
    }
  },
}));

describe('RAMVecPool without threads', () => {
  it('falls back to the main thread when no worker can start', async () => {
    const pool = new RAMVecPool(2);
    const rows = new VectorRows<number>(8, undefined, { pool, workerThreshold: 0 });
    for (let i = 0; i < 50; i++) rows.add([i, 1, 2, 3, 4, 5, 6, 7], i);
    const first = await rows.nearest([49, 1, 2, 3, 4, 5, 6, 7], 1);
    expect(first[0].payload).toBe(49);
    expect(pool.usable).toBe(false);
    const again = await rows.nearest([0, 1, 2, 3, 4, 5, 6, 7], 1);
    expect(again[0].payload).toBe(0);
    await pool.close();
  });
});
