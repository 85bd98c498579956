import { readFileSync } from 'node:fs';
import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { describeCodeBackend } from '../../testing/code.contract';
import { teamResolver } from '../../testing/contract-harness';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import type { CodeScope } from '../code.backend';
import { CODE_CONNECTORS, CodeModule } from '../code.module';
import { CodeService } from '../code.service';
import { ECMASandboxConnector } from './ecma-sandbox.connector';

const ADD = 'async function main({ a, b }) { return a + b; }';

describeCodeBackend('ECMASandbox', () => new ECMASandboxConnector());

describe('ECMASandboxConnector', () => {
  const scope: CodeScope = { team: 't', owner: AccessCandidate.agent('a'), uid: 'u' };
  const backend = new ECMASandboxConnector({ timeoutMs: 2000 });
  const run = (code: string, inputs: Record<string, unknown> = {}, config = {}) =>
    backend.executeCode(scope, { code, inputs }, config);
  /** The reason a run failed (it throws; the service answers it as a failed result). */
  const failure = (code: string, inputs: Record<string, unknown> = {}, config = {}) =>
    run(code, inputs, config).then(
      (result) => {
        throw new Error(`the run succeeded: ${JSON.stringify(result)}`);
      },
      (error: Error) => error.message,
    );
  afterAll(() => backend.disconnect());

  it('is registered as the ECMASandbox connector, its settings validated at boot', async () => {
    expect(CODE_CONNECTORS.get('ECMASandbox')).toBe(ECMASandboxConnector);
    const app = await Test.createTestingModule({
      imports: [
        fakeAccountModule({ a1: 'team-a' }),
        CodeModule.forRoot({ connector: 'ECMASandbox', settings: { timeoutMs: 1000 } }),
      ],
    }).compile();
    try {
      const code = app.get(CodeService);
      expect(await code.agent('a1').execute('calc', { code: ADD, inputs: { a: 2, b: 3 } })).toMatchObject({
        success: true,
        output: 5,
      });
      expect(await code.agent('a1').execute('calc', { code: 'async function main() { for (;;) {} }' })).toMatchObject({
        success: false,
        errors: ['Code(ECMASandbox): running code: the run timed out after 1000 ms and was stopped'],
      });
    } finally {
      await app.close();
    }
    const invalid = Test.createTestingModule({
      imports: [
        fakeAccountModule({ a1: 'team-a' }),
        CodeModule.forRoot({ connector: 'ECMASandbox', settings: { timeoutMs: -1 } as never }),
      ],
    }).compile();
    await expect(invalid).rejects.toBeInstanceOf(SreConfigError);
  }, 15_000);

  it("keeps the original's main contract: async main, parameters bound from the inputs by name", async () => {
    expect(
      await run('async function main(prompt) { return `${prompt} Hello World`; }', { prompt: 'Say' }),
    ).toMatchObject({ success: true, output: 'Say Hello World' });
    expect(
      await run('const main = async (x, y = 2, ...rest) => [x, y, rest];', { rest: [3, 4], x: 1, unused: 0 }),
    ).toMatchObject({ success: true, output: [1, 2, [3, 4]] });
    expect(await run('main = async function (b, a) { return a - b; };', { a: 10, b: 3 })).toMatchObject({
      success: true,
      output: 7,
    });
    // a destructuring parameter receives the whole inputs object
    expect(await run('async function main({ a, b }) { return a * b; }', { a: 6, b: 7 })).toMatchObject({
      output: 42,
    });
    // inherited names are no inputs
    expect(await run('async function main(constructor) { return typeof constructor; }')).toMatchObject({
      output: 'undefined',
    });
  });

  it('prepares: missing main, a main that is not async, and code that does not parse', async () => {
    expect(await backend.prepareCode(scope, { code: 'async function main() {}' })).toEqual({ prepared: true });
    expect(await backend.prepareCode(scope, { code: 'const main = async () => 1;' })).toEqual({ prepared: true });
    expect(await backend.prepareCode(scope, { code: 'function helper() {}' })).toEqual({
      prepared: false,
      errors: ['No main function found at root level'],
    });
    expect(await backend.prepareCode(scope, { code: 'function main() {}' })).toEqual({
      prepared: false,
      errors: ['Main function exists but is not async'],
    });
    const broken = await backend.prepareCode(scope, { code: 'async function main( {' });
    expect(broken.errors?.[0]).toMatch(/^Failed to parse code: /);
    expect(await failure('const x = 1;')).toBe('No main function found at root level');
  });

  it('passes inputs with quotes, backticks and ${} as data', async () => {
    const tricky = "'); process.exit(1); ('` ${process.exit(2)} `\" \\ */";
    expect(
      await run('async function main(text, { n } = {}) { return [text, typeof n]; }', { text: tricky }),
    ).toMatchObject({ success: true, output: [tricky, 'undefined'] });
  });

  it('stops a runaway loop at the timeout with a clear result, and the next run works', async () => {
    const started = Date.now();
    // through the service, the clear result an application sees
    const service = new CodeService(backend, createConnectorContext({ subsystem: 'Code', connector: 'ECMASandbox' }), {
      account: teamResolver({ a: 't' }),
    });
    expect(
      await service.agent('a').execute('u', { code: 'async function main() { while (true) {} }' }, { timeout: 0.5 }),
    ).toEqual({
      output: undefined,
      executionTime: 0,
      success: false,
      errors: ['Code(ECMASandbox): running code: the run timed out after 500 ms and was stopped'],
    });
    expect(Date.now() - started).toBeLessThan(5000);
    // the settings' default applies without a config timeout
    expect(await failure('async function main() { for (;;) {} }')).toBe(
      'the run timed out after 2000 ms and was stopped',
    );
    expect(await run('async function main() { return "still here"; }')).toMatchObject({
      success: true,
      output: 'still here',
    });
  }, 15_000);

  it('stops a memory bomb at the memory limit, and the next run works', async () => {
    expect(
      await failure(
        'async function main() { const a = []; for (;;) a.push(new Array(1e6).fill(1)); }',
        {},
        { memoryLimit: 32, timeout: 10 },
      ),
    ).toBe('the run exceeded its memory limit of 32 MB and was stopped');
    expect(await failure('async function main() { let s = "x"; for (;;) s += s; }', {}, { memoryLimit: 32 })).toMatch(
      /memory|Invalid string length/,
    );
    // memory outside the heap limit is not available
    expect(await failure('async function main() { return new ArrayBuffer(2 ** 31); }')).toBe(
      'ArrayBuffer is not defined',
    );
    expect(await run('async function main() { return 1; }')).toMatchObject({ success: true, output: 1 });
  }, 20_000);

  it("reaches neither the host's file system nor its environment, and leaks nothing", async () => {
    const passwd = readFileSync('/etc/passwd', 'utf8').split('\n')[0];
    process.env.SRE_SANDBOX_CANARY = 'canary-value';
    try {
      const attempts: Array<[string, RegExp]> = [
        ['return require("fs").readFileSync("/etc/passwd", "utf8");', /require is not defined/],
        ['return process.binding("fs");', /process is not defined/],
        ['return process.env;', /process is not defined/],
        ['return (await import("fs")).readFileSync("/etc/passwd", "utf8");', /import\(\) is not available/],
        ['return await eval("import(\'fs\')");', /import\(\) is not available/],
        ['return this.constructor.constructor("return process")().env;', /process is not defined/],
        ['return globalThis.constructor.constructor("return process")().env;', /process is not defined/],
        ['return console.log.constructor.constructor("return process")().env;', /process is not defined/],
        ['return setTimeout.constructor.constructor("return process")().env;', /process is not defined/],
        [
          'try { await import("fs"); } catch (e) { return e.constructor.constructor("return process")().env; }',
          /process is not defined/,
        ],
        [
          'try { null.x; } catch (e) { return e.constructor.constructor("return process")().env; }',
          /process is not defined/,
        ],
        ['return Buffer.from("x");', /Buffer is not defined/],
        ['return fetch("http://127.0.0.1");', /fetch is not defined/],
      ];
      for (const [body, error] of attempts) {
        const reason = await failure(`async function main() { ${body} }`);
        expect(reason).toMatch(error);
        expect(reason).not.toContain(passwd);
        expect(reason).not.toContain('canary-value');
      }
      // even a hostile Promise.prototype.then reaches no function of the host realm
      expect(
        await failure(
          'Promise.prototype.then = function (ok) { return ok.constructor.constructor("return process")().exit(3); };' +
            'async function main() { return 1; }',
        ),
      ).toBe('process is not defined');
    } finally {
      delete process.env.SRE_SANDBOX_CANARY;
    }
  }, 30_000);

  it('captures console lines, provides timers, and reports a main that never settles', async () => {
    expect(
      await run(
        'async function main(who) { const { log, error } = console; log("hello", who); error("oops"); await new Promise((r) => setTimeout(r, 20)); return 1; }',
        { who: 'you' },
      ),
    ).toMatchObject({ success: true, output: 1, logs: ['hello you', 'oops'] });
    expect(await failure('async function main() { return new Promise(() => {}); }')).toContain(
      'main awaits something that never happens',
    );
    expect(await failure('async function main() { throw new Error("boom"); }')).toBe('boom');
    expect(await run('async function main() { return () => 1; }')).toMatchObject({ success: true, output: '() => 1' });
    expect(await failure('async function main() {}', { n: 1n })).toContain('inputs must be JSON data');
  });

  it('caps the timeout and memory a config asks for, and runs at most maxConcurrentRuns at once', async () => {
    const capped = new ECMASandboxConnector({ maxTimeoutMs: 300, maxConcurrentRuns: 1 });
    try {
      await expect(
        capped.executeCode(scope, { code: 'async function main() { for (;;) {} }' }, { timeout: 60 }),
      ).rejects.toThrow('the run timed out after 300 ms and was stopped');
      const results = await Promise.all(
        [1, 2, 3].map((n) =>
          capped.executeCode(scope, { code: 'async function main(n) { return n; }', inputs: { n } }, {}),
        ),
      );
      expect(results.map((r) => r.output)).toEqual([1, 2, 3]);
    } finally {
      await capped.disconnect();
    }
  }, 15_000);
});
