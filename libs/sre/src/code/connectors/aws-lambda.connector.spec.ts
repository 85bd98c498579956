import { createConnectorContext } from '../../core/backend';
import { AccessCandidate } from '../../security/access-candidate';
import { describeCodeBackend } from '../../testing/code.contract';
import type { CodeBackend, CodeScope } from '../code.backend';
import { functionNameOf } from './aws-lambda.bundle';
import { AWSLambdaConnector, type AWSLambdaSettings } from './aws-lambda.connector';
import { startLambdaPeer, type LambdaPeer } from '../../../../../test/peers/lambda';

jest.setTimeout(60_000);

let peer: LambdaPeer;
beforeAll(async () => {
  peer = await startLambdaPeer();
});
afterAll(() => peer?.stop());

let runs = 0;
const ROLE = 'arn:aws:iam::000000000000:role/sre-lambda';
const connector = (settings: Partial<AWSLambdaSettings> = {}) =>
  new AWSLambdaConnector(
    { ...peer.settings(), role: ROLE, functionPrefix: `t${++runs}-`, ...settings },
    createConnectorContext({ subsystem: 'Code', connector: 'AWSLambda' }),
  );

describeCodeBackend('AWSLambda', () => connector(), { timeoutMs: 30_000 });

describe('AWSLambda over the wire', () => {
  const scope: CodeScope = { team: 'team-a', owner: AccessCandidate.agent('a1'), uid: 'calc' };
  let lambda: CodeBackend & { connect(): Promise<void>; disconnect(): Promise<void> };
  beforeEach(async () => {
    lambda = connector();
    await lambda.connect();
  });
  afterEach(() => lambda.disconnect());

  it('names functions within 64 characters, apart for every team, owner and uid', () => {
    const long = { ...scope, uid: 'u'.repeat(64) };
    const names = [
      functionNameOf('sre-', long),
      functionNameOf('sre-', { ...long, team: 'team-b' }),
      functionNameOf('sre-', { ...long, owner: AccessCandidate.user('a1') }),
      functionNameOf('sre-', { ...long, uid: 'u'.repeat(63) + 'v' }),
    ];
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it('deploys, runs with an npm dependency, updates only on change, runs again, deletes', async () => {
    const v1 =
      "import { LRUCache } from 'lru-cache';\nexport async function main({ n }) { const c = new LRUCache({ max: 2 }); c.set('n', n); return { v: 1, n: c.get('n') }; }";
    const first = await lambda.deployCode(scope, { code: v1 }, {});
    expect(first).toMatchObject({ status: 'deployed', runtime: 'nodejs22.x' });
    expect(first.id.length).toBeLessThanOrEqual(64);
    const config = peer.functions.get(first.id)!.config;
    expect(config.Environment?.Variables ?? {}).toEqual({});
    const updates = () => peer.calls.get('PUT fn/code') ?? 0;
    const run1 = await lambda.executeCodeDeployment(scope, first.id, { n: 7 }, {});
    expect(run1).toMatchObject({ success: true, output: { v: 1, n: 7 } });
    const before = updates();
    await lambda.deployCode(scope, { code: v1 }, {});
    expect(updates()).toBe(before);
    const v2 = v1.replace('v: 1', 'v: 2');
    await lambda.deployCode(scope, { code: v2 }, {});
    expect(updates()).toBe(before + 1);
    await expect(lambda.executeCodeDeployment(scope, first.id, { n: 8 }, {})).resolves.toMatchObject({
      output: { v: 2, n: 8 },
    });
    await lambda.deleteCodeDeployment(scope, first.id, {});
    expect(peer.functions.has(first.id)).toBe(false);
    await expect(lambda.listCodeDeployments(scope, {})).resolves.toEqual([]);
  });

  it('answers a handler that throws, one that times out and a large payload as typed results, with logs', async () => {
    const thrown = await lambda.executeCode(
      scope,
      {
        code: 'export async function main() { process.stdout.write("about to fail\\n"); throw new TypeError("bad thing"); }',
      },
      {},
    );
    expect(thrown).toMatchObject({
      success: false,
      errors: [expect.stringMatching(/^Code\(AWSLambda\): running code: TypeError: bad thing/)],
    });
    expect(thrown.logs?.join('\n')).toContain('about to fail');
    const started = Date.now();
    const slow = await lambda.executeCode(
      { ...scope, uid: 'slow' },
      { code: 'export async function main() { await new Promise(() => setInterval(() => {}, 1000)); }' },
      { timeout: 1 },
    );
    expect(slow).toMatchObject({
      success: false,
      errors: [expect.stringMatching(/TimeoutError: Task timed out after 1.00 seconds/)],
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const big = await lambda.executeCode(
      { ...scope, uid: 'big' },
      { code: 'export async function main({ n }) { return "y".repeat(n); }', inputs: { n: 3 * 1024 * 1024 } },
      {},
    );
    expect(big.success).toBe(true);
    expect((big.output as string).length).toBe(3 * 1024 * 1024);
    const huge = await lambda.executeCode(
      { ...scope, uid: 'big' },
      { code: 'export async function main({ n }) { return "y".repeat(n); }', inputs: { n: 7 * 1024 * 1024 } },
      {},
    );
    expect(huge).toMatchObject({ success: false, errors: [expect.stringContaining('Function.ResponseSizeTooLarge')] });
  });

  it('refuses dependency names outside the npm grammar, never handing them on (W43)', async () => {
    const prepared = await lambda.prepareCode(
      scope,
      { code: 'export async function main() {}', dependencies: 'left-pad; rm -rf / $(id)' },
      {},
    );
    expect(prepared.prepared).toBe(false);
    expect(prepared.errors?.[0]).toContain('invalid package names');
    await expect(
      lambda.deployCode(scope, { code: 'export async function main() {}', dependencies: '`touch /tmp/x`' }, {}),
    ).rejects.toThrow(/invalid package names/);
  });
});
