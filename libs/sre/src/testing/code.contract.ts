import type { CodeBackend, CodeExecutionResult, CodeScope } from '../code/code.backend';
import { CodeService } from '../code/code.service';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { teamResolver, useFreshBackend } from './contract-harness';

/** Who belongs to which team in the policy tests (a team is its own team). */
const resolver = teamResolver({ a1: 'team-a', a2: 'team-a', b1: 'team-b' });

const ADD = 'async function main({ a, b }) { return a + b; }';
const FOREVER = 'async function main() { await null; for (;;) {} }';

const scopeOf = (team: string, owner: AccessCandidate, uid = 'calc'): CodeScope => ({ team, owner, uid });

/** A run's failure, whether the backend threw or answered `success: false`. */
async function failure(run: Promise<CodeExecutionResult>): Promise<boolean> {
  try {
    return (await run).success === false;
  } catch {
    return true;
  }
}

/**
 * The contract of a Code backend, then the Code policy over it (through the real `CodeService`):
 * `describeCodeBackend('MyRunner', () => new MyCodeConnector(settings, ctx))`. Each test gets a
 * fresh backend and disconnects it after. Runs real code: `timeoutMs` is the Jest time of a test
 * (default 15 s, for backends that deploy over the network).
 */
export function describeCodeBackend<B extends CodeBackend>(
  label: string,
  makeBackend: () => B | Promise<B>,
  options: { timeoutMs?: number } = {},
): void {
  const time = options.timeoutMs ?? 15_000;

  describe(`${label}: Code backend contract`, () => {
    const { backend, track } = useFreshBackend(makeBackend);

    const serve = (wrapped: CodeBackend = backend(), secrets: string[] = []): CodeService => {
      const context = createConnectorContext({ subsystem: 'Code', connector: label, secrets });
      return track(new CodeService(wrapped, context, { account: resolver }), wrapped);
    };

    /** The backend with every call and the scope it was given recorded on the way through. */
    const recording = () => {
      const calls: Array<[string, CodeScope]> = [];
      const through =
        <K extends keyof CodeBackend & `${string}Code${string}`>(name: K) =>
        (scope: CodeScope, ...rest: unknown[]) => {
          calls.push([name, scope]);
          return (backend()[name] as (...args: unknown[]) => unknown)(scope, ...rest);
        };
      const wrapped = {
        prepareCode: through('prepareCode'),
        deployCode: through('deployCode'),
        executeCode: through('executeCode'),
        executeCodeDeployment: through('executeCodeDeployment'),
        listCodeDeployments: through('listCodeDeployments'),
        getCodeDeployment: through('getCodeDeployment'),
        deleteCodeDeployment: through('deleteCodeDeployment'),
      } as CodeBackend;
      return { calls, wrapped };
    };

    const mine = scopeOf('team-a', AccessCandidate.agent('a1'));

    describe('operations', () => {
      it(
        'prepares code: a main function passes, a missing main or a syntax error is reported',
        async () => {
          expect(await backend().prepareCode(mine, { code: ADD }, {})).toMatchObject({ prepared: true });
          const noMain = await backend().prepareCode(mine, { code: 'const x = 1;' }, {});
          expect(noMain.prepared).toBe(false);
          expect(noMain.errors?.length).toBeGreaterThan(0);
          const broken = await backend().prepareCode(mine, { code: 'async function main( {' }, {});
          expect(broken.prepared).toBe(false);
          expect(broken.errors?.length).toBeGreaterThan(0);
        },
        time,
      );

      it(
        'runs main with the inputs passed as data, never as source',
        async () => {
          const tricky = 'it\'s "quoted" `${process.exit(1)}` \\ \n */ //';
          const result = await backend().executeCode(
            mine,
            { code: 'async function main({ a, b }) { return a + b; }', inputs: { a: tricky, b: '!' } },
            {},
          );
          expect(result).toMatchObject({ success: true, output: `${tricky}!` });
          expect(result.executionTime).toBeGreaterThanOrEqual(0);
          const structured = await backend().executeCode(
            mine,
            {
              code: 'async function main({ list }) { return { n: list.length, first: list[0] }; }',
              inputs: { list: [{ x: 1 }, 2] },
            },
            {},
          );
          expect(structured).toMatchObject({ success: true, output: { n: 2, first: { x: 1 } } });
        },
        time,
      );

      it(
        'fails a run whose code throws, and stops one that never ends at the configured timeout',
        async () => {
          expect(
            await failure(
              backend().executeCode(mine, { code: 'async function main() { throw new Error("boom"); }' }, {}),
            ),
          ).toBe(true);
          const started = Date.now();
          expect(await failure(backend().executeCode(mine, { code: FOREVER }, { timeout: 0.25 }))).toBe(true);
          expect(Date.now() - started).toBeLessThan(time - 1000);
        },
        time,
      );

      it(
        'carries large inputs and outputs',
        async () => {
          const big = 'x'.repeat(1024 * 1024);
          const result = await backend().executeCode(
            mine,
            { code: 'async function main({ big }) { return big + big; }', inputs: { big } },
            {},
          );
          expect(result.success).toBe(true);
          expect((result.output as string).length).toBe(2 * big.length);
        },
        time,
      );

      it(
        'deploys once per content: the same input is the same deployment, a change runs the new code',
        async () => {
          const first = await backend().deployCode(
            mine,
            { code: ADD, inputs: { a: 1, b: 2 } },
            { runtime: 'nodejs22.x' },
          );
          expect(first).toMatchObject({ status: 'deployed', runtime: 'nodejs22.x' });
          expect(typeof first.id).toBe('string');
          expect(first.createdAt).toBeInstanceOf(Date);
          const again = await backend().deployCode(
            mine,
            { code: ADD, inputs: { a: 5, b: 6 } },
            { runtime: 'nodejs22.x' },
          );
          expect(again).toEqual(first);
          expect(await backend().executeCodeDeployment(mine, first.id, { a: 2, b: 3 }, {})).toMatchObject({
            success: true,
            output: 5,
          });
          const changed = await backend().deployCode(
            mine,
            { code: 'async function main({ a, b }) { return a * b; }' },
            {},
          );
          expect(await backend().executeCodeDeployment(mine, changed.id, { a: 2, b: 3 }, {})).toMatchObject({
            success: true,
            output: 6,
          });
        },
        time,
      );

      it(
        'lists, reads and deletes deployments; missing ones are undefined, a no-op, a failed run',
        async () => {
          const deployed = await backend().deployCode(mine, { code: ADD }, {});
          expect((await backend().listCodeDeployments(mine, {})).map((d) => d.id)).toEqual([deployed.id]);
          expect(await backend().getCodeDeployment(mine, deployed.id, {})).toMatchObject({ id: deployed.id });
          expect(await backend().getCodeDeployment(mine, 'missing', {})).toBeUndefined();
          await backend().deleteCodeDeployment(mine, 'missing', {});
          await backend().deleteCodeDeployment(mine, deployed.id, {});
          await backend().deleteCodeDeployment(mine, deployed.id, {});
          expect(await backend().listCodeDeployments(mine, {})).toEqual([]);
          expect(await backend().getCodeDeployment(mine, deployed.id, {})).toBeUndefined();
          expect(await failure(backend().executeCodeDeployment(mine, deployed.id, {}, {}))).toBe(true);
        },
        time,
      );

      it(
        'keeps the units of every team, owner and uid apart (W09)',
        async () => {
          const others = [
            scopeOf('team-a', AccessCandidate.agent('a2')),
            scopeOf('team-b', AccessCandidate.agent('a1')),
            scopeOf('team-a', AccessCandidate.user('a1')),
            scopeOf('team-a', AccessCandidate.agent('a1'), 'calc2'),
          ];
          const deployed = await backend().deployCode(mine, { code: ADD }, {});
          for (const other of others) {
            expect(await backend().listCodeDeployments(other, {})).toEqual([]);
            expect(await backend().getCodeDeployment(other, deployed.id, {})).toBeUndefined();
            expect(await failure(backend().executeCodeDeployment(other, deployed.id, { a: 1, b: 1 }, {}))).toBe(true);
            await backend().deleteCodeDeployment(other, deployed.id, {});
          }
          expect(await backend().getCodeDeployment(mine, deployed.id, {})).toMatchObject({ id: deployed.id });
          // the same code deployed by another unit is that unit's own deployment
          const theirs = await backend().deployCode(others[0], { code: ADD }, {});
          await backend().deleteCodeDeployment(others[0], theirs.id, {});
          expect(await backend().getCodeDeployment(mine, deployed.id, {})).toMatchObject({ id: deployed.id });
        },
        time,
      );

      it(
        'keeps concurrent runs and deployments apart',
        async () => {
          const runs = await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              backend().executeCode(mine, { code: ADD, inputs: { a: i, b: 100 } }, {}),
            ),
          );
          expect(runs.map((run) => run.output)).toEqual(Array.from({ length: 12 }, (_, i) => i + 100));
          const uids = Array.from({ length: 10 }, (_, i) => `unit-${i}`);
          await Promise.all(
            uids.map((uid) =>
              backend().deployCode(scopeOf('team-a', AccessCandidate.agent('a1'), uid), { code: ADD }, {}),
            ),
          );
          for (const uid of uids)
            expect(
              await backend().listCodeDeployments(scopeOf('team-a', AccessCandidate.agent('a1'), uid), {}),
            ).toHaveLength(1);
        },
        time,
      );
    });

    describe('Code policy (CodeService over this backend)', () => {
      it(
        'prepares and executes for the candidate, handing the backend the scope built from it',
        async () => {
          const { calls, wrapped } = recording();
          const code = serve(wrapped);
          expect(await code.agent('a1').prepare('calc', { code: ADD })).toMatchObject({ prepared: true });
          const result = await code.agent('a1').execute('calc', { code: ADD, inputs: { a: "it's", b: ' "quoted"' } });
          expect(result).toMatchObject({ success: true, output: 'it\'s "quoted"' });
          await code.team('team-b').listDeployments('calc');
          expect(calls.map(([name]) => name)).toEqual(['prepareCode', 'executeCode', 'listCodeDeployments']);
          const plain = ({ team, owner, uid }: CodeScope) => [team, owner.role, owner.id, uid];
          expect(calls.map(([, scope]) => plain(scope))).toEqual([
            ['team-a', 'agent', 'a1', 'calc'],
            ['team-a', 'agent', 'a1', 'calc'],
            ['team-b', 'team', 'team-b', 'calc'],
          ]);
        },
        time,
      );

      it(
        'never throws from execute: failures come back as results',
        async () => {
          const code = serve();
          const thrown = await code
            .agent('a1')
            .execute('calc', { code: 'async function main() { throw new Error("boom"); }' });
          expect(thrown).toMatchObject({ output: undefined, executionTime: 0, success: false });
          expect(thrown.errors).toEqual([
            expect.stringMatching(new RegExp(`^Code\\(${label}\\): running code: .*boom`)),
          ]);
          expect(await code.agent('a1').execute('bad uid!', { code: ADD })).toMatchObject({
            success: false,
            errors: [expect.stringContaining('invalid code uid')],
          });
          expect(await code.agent('a1').execute('calc', { code: '' })).toMatchObject({ success: false });
          expect(await code.agent('a1').execute('calc', null as never)).toMatchObject({ success: false });
          expect(await code.agent('a1').execute('calc', { code: ADD }, { timeout: -1 })).toMatchObject({
            success: false,
            errors: [expect.stringContaining('timeout')],
          });
          expect(await code.agent('nobody').execute('calc', { code: ADD })).toMatchObject({
            success: false,
            errors: ['Access Denied'],
          });
          expect(await code.agent('a1').executeDeployment('calc', 'missing', {})).toMatchObject({ success: false });
          expect(await code.agent('a1').executeDeployment('calc', '', {})).toMatchObject({ success: false });
          expect(await code.agent('a1').execute('calc', { code: FOREVER }, { timeout: 0.25 })).toMatchObject({
            success: false,
          });
        },
        time,
      );

      it(
        'deploys, runs, lists, reads and deletes deployments of its own units only',
        async () => {
          const code = serve();
          const deployed = await code.agent('a1').deploy('calc', { code: ADD }, { runtime: 'nodejs22.x' });
          expect(deployed).toMatchObject({ status: 'deployed', runtime: 'nodejs22.x' });
          expect(await code.agent('a1').executeDeployment('calc', deployed.id, { a: 2, b: 3 })).toMatchObject({
            success: true,
            output: 5,
          });
          expect((await code.agent('a1').listDeployments('calc')).map((d) => d.id)).toEqual([deployed.id]);
          expect(await code.agent('a1').getDeployment('calc', deployed.id)).toMatchObject({ id: deployed.id });
          // a teammate and another team use the same uid but reach their own units only
          expect(await code.agent('a2').listDeployments('calc')).toEqual([]);
          expect(await code.agent('b1').getDeployment('calc', deployed.id)).toBeUndefined();
          expect(await code.agent('b1').executeDeployment('calc', deployed.id, { a: 1, b: 1 })).toMatchObject({
            success: false,
          });
          await code.agent('a2').deleteDeployment('calc', deployed.id);
          expect(await code.agent('a1').getDeployment('calc', deployed.id)).toMatchObject({ id: deployed.id });
          await code.agent('a1').deleteDeployment('calc', deployed.id);
          expect(await code.agent('a1').listDeployments('calc')).toEqual([]);
        },
        time,
      );

      it('denies another team and a candidate without a team, before the backend sees them', async () => {
        const { calls, wrapped } = recording();
        const code = serve(wrapped);
        await expect(code.agent('nobody').deploy('calc', { code: ADD })).rejects.toBeInstanceOf(SreAccessDeniedError);
        await expect(code.user('nobody').listDeployments('calc')).rejects.toBeInstanceOf(SreAccessDeniedError);
        await expect(code.requester(AccessCandidate.public()).getDeployment('calc', 'd')).rejects.toBeInstanceOf(
          SreAccessDeniedError,
        );
        expect(calls).toEqual([]);
        const unit = 'teams/team-a/code/agent/a1/calc';
        expect(await code.hasAccess(AccessCandidate.agent('b1'), 'read', unit)).toBe(false);
        expect(await code.hasAccess(AccessCandidate.agent('a2'), 'read', unit)).toBe(false);
        expect(await code.hasAccess(AccessCandidate.team('team-b'), 'write', unit)).toBe(false);
        expect(await code.hasAccess(AccessCandidate.team('team-a'), 'write', unit)).toBe(false);
        expect(await code.hasAccess(AccessCandidate.agent('a1'), 'write', unit)).toBe(true);
        for (const odd of [
          'calc',
          'teams/team-a/code/agent/a1',
          'teams/team-a/code/public/public/calc',
          'x/team-a/code/agent/a1/c',
        ])
          expect(await code.hasAccess(AccessCandidate.agent('a1'), 'read', odd)).toBe(false);
      });

      it('rejects malformed input before the backend sees it', async () => {
        const { calls, wrapped } = recording();
        const agent = serve(wrapped).agent('a1');
        const invalid = [
          agent.deploy('calc', { code: ADD, files: { 'a.js': 1 as never } }),
          agent.deploy('calc', { code: ADD, dependencies: ['x'] as never }),
          agent.deploy('calc', { code: ADD, inputs: [] as never }),
          agent.deploy('x'.repeat(65), { code: ADD }),
          agent.prepare('calc', { code: '   ' }),
          agent.prepare('calc', { code: ADD }, { runtime: '' }),
          agent.prepare('calc', { code: ADD }, { memoryLimit: 1.5 }),
          agent.prepare('calc', { code: ADD }, [] as never),
          agent.getDeployment('calc', ''),
          agent.deleteDeployment('calc', 'x'.repeat(257)),
          agent.listDeployments('calc', { environment: { A: 1 as never } }),
          agent.listDeployments('../calc'),
        ];
        for (const attempt of invalid) await expect(attempt).rejects.toBeInstanceOf(SreInvalidInputError);
        expect(await agent.executeDeployment('calc', 'd', [] as never)).toMatchObject({ success: false });
        expect(calls).toEqual([]);
      });

      it('wraps backend failures with secrets scrubbed, and refuses broken answers', async () => {
        const { wrapped } = recording();
        const failing: CodeBackend = {
          ...wrapped,
          deployCode: () => Promise.reject(new Error('role s3cr3t-value refused')),
          executeCode: async () => ({ output: 's3cr3t-value' }) as never,
          listCodeDeployments: async () => 'nope' as never,
          executeCodeDeployment: () => Promise.reject(new Error('lambda says s3cr3t-value')),
        };
        const agent = serve(failing, ['s3cr3t-value']).agent('a1');
        const deploy = await agent.deploy('calc', { code: ADD }).catch((e: unknown) => e);
        expect(deploy).toBeInstanceOf(SreBackendError);
        expect((deploy as Error).message).toBe(`Code(${label}): deploying code: role *** refused`);
        expect(await agent.execute('calc', { code: ADD })).toMatchObject({
          success: false,
          errors: [`Code(${label}): the connector answered a run without its outcome`],
        });
        expect(await agent.executeDeployment('calc', 'd', {})).toEqual({
          output: undefined,
          executionTime: 0,
          success: false,
          errors: [`Code(${label}): running a deployment: lambda says ***`],
        });
        await expect(agent.listDeployments('calc')).rejects.toBeInstanceOf(SreBackendError);
      });

      it('refuses work once closed; execute still answers a failed result', async () => {
        const code = serve();
        await code.agent('a1').listDeployments('calc');
        expect(code.state).toBe('ready');
        await code.disconnect();
        await expect(code.agent('a1').deploy('calc', { code: ADD })).rejects.toBeInstanceOf(SreUnavailableError);
        expect(await code.agent('a1').execute('calc', { code: ADD })).toMatchObject({ success: false });
      });
    });
  });
}
