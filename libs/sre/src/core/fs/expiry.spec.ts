import { isExpired, Sweeper } from './expiry';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('isExpired', () => {
  it('is true from the instant of expiry on, and never without one', () => {
    expect(isExpired(undefined, 5)).toBe(false);
    expect(isExpired(6, 5)).toBe(false);
    expect(isExpired(5, 5)).toBe(true);
    expect(isExpired(4, 5)).toBe(true);
    expect(isExpired(Date.now() + 60_000)).toBe(false);
  });
});

describe('Sweeper', () => {
  const logger = { warn: jest.fn() };
  afterEach(() => logger.warn.mockReset());

  it('runs passes on the interval until stopped, with an unref’d timer', async () => {
    const pass = jest.fn(async () => 1);
    const sweeper = new Sweeper(pass, logger);
    const setInterval = jest.spyOn(global, 'setInterval');
    sweeper.start(20);
    expect((setInterval.mock.results[0]?.value as NodeJS.Timeout).hasRef()).toBe(false);
    await sleep(75);
    expect(pass.mock.calls.length).toBeGreaterThanOrEqual(2);
    await sweeper.stop();
    expect(sweeper.stopping).toBe(true);
    const after = pass.mock.calls.length;
    await sleep(50);
    expect(pass.mock.calls.length).toBe(after);
    setInterval.mockRestore();
  });

  it('shares one pass between overlapping runs, and stop() waits for it', async () => {
    let finish!: (n: number) => void;
    const pass = jest.fn(() => new Promise<number>((resolve) => (finish = resolve)));
    const sweeper = new Sweeper(pass, logger);
    const a = sweeper.run();
    const b = sweeper.run();
    expect(pass).toHaveBeenCalledTimes(1);
    let stopped = false;
    const stopping = sweeper.stop().then(() => (stopped = true));
    await sleep(5);
    expect(stopped).toBe(false);
    finish(3);
    await expect(Promise.all([a, b])).resolves.toEqual([3, 3]);
    await stopping;
    expect(stopped).toBe(true);
    // a manual run after stop still runs one pass (which sees `stopping` and may cut it short)
    const manual = sweeper.run();
    finish(4);
    await expect(manual).resolves.toBe(4);
    expect(pass).toHaveBeenCalledTimes(2);
  });

  it('logs a failing timed pass by its code and keeps sweeping; 0 means no timer', async () => {
    const failing = new Sweeper(
      () => Promise.reject(Object.assign(new Error('/secret/path'), { code: 'EACCES' })),
      logger,
      'purge',
    );
    failing.start(10);
    await sleep(45);
    await failing.stop();
    expect(logger.warn).toHaveBeenCalledWith('purge failed (EACCES)');
    expect(logger.warn.mock.calls.length).toBeGreaterThanOrEqual(2);
    const pass = jest.fn(async () => 0);
    const idle = new Sweeper(pass, logger);
    idle.start(0);
    await sleep(20);
    expect(pass).not.toHaveBeenCalled();
    await idle.stop();
  });
});
