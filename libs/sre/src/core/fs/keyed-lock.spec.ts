import { KeyedLock } from './keyed-lock';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLock', () => {
  it('runs work of one key one at a time, in arrival order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const job = (name: string) =>
      lock.run('k', async () => {
        log.push(`${name} in`);
        await tick();
        log.push(`${name} out`);
        return name;
      });
    await expect(Promise.all([job('a'), job('b'), job('c')])).resolves.toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });

  it('never makes different keys wait for each other', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const held = lock.run('a', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(lock.run('b', () => 'b ran')).resolves.toBe('b ran');
    expect(lock.busy('a')).toBe(true);
    expect(lock.busy('b')).toBe(false);
    release();
    await held;
  });

  it('releases the key when the work fails, and forgets idle keys', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run('k', () => 'next')).resolves.toBe('next');
    expect(lock.size).toBe(0);
    expect(lock.busy('k')).toBe(false);
  });

  it('reports a key busy while work runs or waits', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const first = lock.run('k', () => new Promise<void>((resolve) => (release = resolve)));
    const second = lock.run('k', () => 'second');
    expect([lock.busy('k'), lock.size]).toEqual([true, 1]);
    release();
    await first;
    await expect(second).resolves.toBe('second');
    expect(lock.busy('k')).toBe(false);
  });
});
