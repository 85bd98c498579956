import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DebouncedWatch } from './debounced-watch';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, watch: jest.fn(actual.watch) };
});
const realWatch = jest.requireActual<typeof import('node:fs')>('node:fs').watch;
const watchMock = jest.mocked(fs.watch);

type Listener = (event: string, filename: string | null) => void;

/** A stand-in for fs.watch: records each watcher's listener so a test can fire events. */
class FakeWatcher extends EventEmitter {
  closed = false;
  constructor(readonly listener: Listener) {
    super();
  }
  close(): void {
    this.closed = true;
  }
}

function fakeWatch(): { watchers: FakeWatcher[]; spy: typeof watchMock } {
  const watchers: FakeWatcher[] = [];
  const spy = watchMock.mockImplementation(((_target: string, _options: unknown, listener: Listener) => {
    const watcher = new FakeWatcher(listener);
    watchers.push(watcher);
    return watcher as unknown as fs.FSWatcher;
  }) as unknown as typeof fs.watch);
  return { watchers, spy };
}

const logger = () => ({ warn: jest.fn() });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('DebouncedWatch', () => {
  afterEach(() => {
    jest.useRealTimers();
    watchMock.mockClear();
    watchMock.mockImplementation(realWatch);
  });

  it('debounces a burst of events into one reload after the quiet time', async () => {
    jest.useFakeTimers();
    const { watchers } = fakeWatch();
    const reload = jest.fn(async () => undefined);
    const watch = new DebouncedWatch(reload, { logger: logger(), debounceMs: 100 });
    expect(watch.watch('/some/dir')).toBe(true);
    for (let i = 0; i < 5; i++) {
      watchers[0].listener('change', 'a.json');
      jest.advanceTimersByTime(50);
    }
    expect(reload).not.toHaveBeenCalled();
    jest.advanceTimersByTime(100);
    expect(reload).toHaveBeenCalledTimes(1);
    await watch.close();
  });

  it('reloads at the latest maxDelayMs after the first event while events go on', () => {
    jest.useFakeTimers();
    const { watchers } = fakeWatch();
    const reload = jest.fn(async () => undefined);
    const watch = new DebouncedWatch(reload, { logger: logger(), debounceMs: 100, maxDelayMs: 250 });
    watch.watch('/some/dir');
    for (let i = 0; i < 5; i++) {
      watchers[0].listener('change', 'a.json');
      jest.advanceTimersByTime(60);
    }
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('counts only the events the filter accepts', () => {
    jest.useFakeTimers();
    const { watchers } = fakeWatch();
    const reload = jest.fn(async () => undefined);
    const watch = new DebouncedWatch(reload, { logger: logger(), debounceMs: 10 });
    watch.watch('/some', { filter: (name) => name === null || name === 'wanted.json' });
    watchers[0].listener('change', 'other.json');
    jest.advanceTimersByTime(50);
    expect(reload).not.toHaveBeenCalled();
    watchers[0].listener('rename', null);
    jest.advanceTimersByTime(50);
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('watches recursively, falling back to the folder itself where that is unavailable', () => {
    const { spy } = fakeWatch();
    spy.mockImplementationOnce(() => {
      throw Object.assign(new Error('no recursion'), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' });
    });
    const watch = new DebouncedWatch(async () => undefined, { logger: logger(), debounceMs: 10 });
    expect(watch.watch('/some/dir', { recursive: true })).toBe(true);
    expect(spy.mock.calls[0][1]).toEqual({ persistent: false, recursive: true });
    expect(spy.mock.calls[1][1]).toEqual({ persistent: false });
    expect(watch.watching).toBe(true);
  });

  it('runs one reload at a time, and once more for a request made during a run', async () => {
    let release!: () => void;
    let runs = 0;
    const watch = new DebouncedWatch(
      () => {
        runs++;
        return new Promise<void>((resolve) => (release = resolve));
      },
      { logger: logger(), debounceMs: 10 },
    );
    const first = watch.run();
    const second = watch.run();
    const third = watch.run();
    expect(runs).toBe(1);
    release();
    await tick();
    expect(runs).toBe(2);
    release();
    await Promise.all([first, second, third]);
    expect(runs).toBe(2);
  });

  it('logs and swallows a failing reload the watch started; run() rejects with it', async () => {
    jest.useFakeTimers();
    const { watchers } = fakeWatch();
    const log = logger();
    const watch = new DebouncedWatch(() => Promise.reject(new Error('bad file')), {
      logger: log,
      debounceMs: 10,
      what: 'the models',
    });
    watch.watch('/some/dir');
    watchers[0].listener('change', 'a.json');
    jest.advanceTimersByTime(10);
    jest.useRealTimers();
    await tick();
    expect(log.warn).toHaveBeenCalledWith('reloading the models failed: bad file');
    await expect(watch.run()).rejects.toThrow('bad file');
  });

  it('warns when a target cannot be watched or its watcher fails', () => {
    const log = logger();
    const watch = new DebouncedWatch(async () => undefined, { logger: log, debounceMs: 10 });
    const missing = path.join(os.tmpdir(), `debounced-watch-missing-${process.pid}-${Date.now()}`);
    expect(watch.watch(missing, { ifUnwatchable: 'misses still re-scan it' })).toBe(false);
    expect(log.warn).toHaveBeenCalledWith(`cannot watch ${missing} (ENOENT); misses still re-scan it`);
    const { watchers } = fakeWatch();
    watch.watch('/some/dir');
    watchers[0].emit('error', Object.assign(new Error('gone'), { code: 'EPERM' }));
    expect(log.warn).toHaveBeenCalledWith('watching /some/dir stopped: EPERM');
  });

  it('stops on close: watchers closed, a pending reload dropped, a running one awaited', async () => {
    jest.useFakeTimers();
    const { watchers } = fakeWatch();
    let release!: () => void;
    const reload = jest.fn(() => new Promise<void>((resolve) => (release = resolve)));
    const watch = new DebouncedWatch(reload, { logger: logger(), debounceMs: 10 });
    watch.watch('/some/dir');
    const running = watch.run();
    watchers[0].listener('change', 'a.json');
    let closed = false;
    const closing = watch.close().then(() => (closed = true));
    expect(watchers[0].closed).toBe(true);
    expect(watch.watching).toBe(false);
    jest.advanceTimersByTime(100);
    watchers[0].listener('change', 'a.json');
    jest.advanceTimersByTime(100);
    jest.useRealTimers();
    await tick();
    expect(closed).toBe(false);
    release();
    await Promise.all([running, closing]);
    expect(closed).toBe(true);
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('follows real file changes in a folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'debounced-watch-'));
    try {
      let reloaded!: () => void;
      const done = new Promise<void>((resolve) => (reloaded = resolve));
      const watch = new DebouncedWatch(async () => reloaded(), { logger: logger(), debounceMs: 20 });
      expect(watch.watch(dir)).toBe(true);
      fs.writeFileSync(path.join(dir, 'a.json'), '{}');
      await done;
      await watch.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
