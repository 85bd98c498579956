import { Logger } from '@nestjs/common';
import { SreConfigError } from './errors';
import { withRetry } from './retry';

const FAST = { retries: 3, initialDelayMs: 1, maxDelayMs: 2 };

describe('withRetry', () => {
  let logger: Logger;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    logger = new Logger('RetrySpec');
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  it('returns the first success', async () => {
    let attempts = 0;
    await expect(
      withRetry(
        async () => (++attempts < 3 ? Promise.reject(new Error(`boom ${attempts}`)) : 'ok'),
        FAST,
        logger,
        'connect',
      ),
    ).resolves.toBe('ok');
    expect(attempts).toBe(3);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenNthCalledWith(1, 'connect failed (attempt 1 of 4): boom 1');
  });

  it('gives up after retries + 1 attempts with the last error', async () => {
    let attempts = 0;
    await expect(
      withRetry(() => Promise.reject(new Error(`boom ${++attempts}`)), { ...FAST, retries: 2 }, logger, 'connect'),
    ).rejects.toThrow('boom 3');
    expect(attempts).toBe(3);
  });

  it('tries once with retries 0', async () => {
    let attempts = 0;
    await expect(
      withRetry(() => Promise.reject(new Error(`boom ${++attempts}`)), { ...FAST, retries: 0 }, logger, 'connect'),
    ).rejects.toThrow('boom 1');
    expect(attempts).toBe(1);
  });

  it('does not retry configuration errors', async () => {
    let attempts = 0;
    const problem = new SreConfigError(['x']);
    await expect(
      withRetry(
        () => {
          attempts++;
          return Promise.reject(problem);
        },
        FAST,
        logger,
        'connect',
      ),
    ).rejects.toBe(problem);
    expect(attempts).toBe(1);
  });
});
