import { AccessCandidate } from '../../security/access-candidate';
import { describeCodeBackend } from '../code.contract';
import { MemoryCodeBackend } from './memory-code.backend';

describeCodeBackend('MemoryCode', () => new MemoryCodeBackend());

describe('MemoryCodeBackend', () => {
  const scope = { team: 't', owner: AccessCandidate.agent('a'), uid: 'u' };

  it('captures console lines into logs', async () => {
    const result = await new MemoryCodeBackend().executeCode(
      scope,
      {
        // the user code logs through the sandbox's console, both its log and error methods
        code: 'async function main({ who }) { const { log, error } = console; log("hello", who); error("oops"); return 1; }',
        inputs: { who: 'you' },
      },
      {},
    );
    expect(result).toMatchObject({ success: true, output: 1, logs: ['hello you', 'oops'] });
  });

  it('stops a run that never settles, a memory hog, and inputs that are not JSON data', async () => {
    const backend = new MemoryCodeBackend({ defaultTimeoutMs: 500 });
    await expect(
      backend.executeCode(scope, { code: 'async function main() { return new Promise(() => {}); }' }, {}),
    ).rejects.toThrow('main never settled');
    await expect(
      backend.executeCode(
        scope,
        { code: 'async function main() { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }' },
        { memoryLimit: 16, timeout: 5 },
      ),
    ).rejects.toThrow(/memory/);
    await expect(
      backend.executeCode(scope, { code: 'async function main() {}', inputs: { n: 1n } }, {}),
    ).rejects.toThrow('inputs must be JSON data');
  }, 10_000);

  it('caps the timeout a config asks for', async () => {
    const backend = new MemoryCodeBackend({ maxTimeoutMs: 300 });
    const started = Date.now();
    await expect(
      backend.executeCode(scope, { code: 'async function main() { for (;;) {} }' }, { timeout: 60 }),
    ).rejects.toThrow('timed out after 300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers a function output as its text', async () => {
    const result = await new MemoryCodeBackend().executeCode(
      scope,
      { code: 'async function main() { return () => 1; }' },
      {},
    );
    expect(result).toMatchObject({ success: true, output: '() => 1' });
  });
});
