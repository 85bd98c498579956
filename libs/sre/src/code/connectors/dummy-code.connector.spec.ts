import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreUnavailableError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { teamResolver } from '../../testing/contract-harness';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import type { CodeBackend, CodeScope } from '../code.backend';
import { CodeModule } from '../code.module';
import { CodeService } from '../code.service';
import { DummyCodeConnector } from './dummy-code.connector';

const ADD = 'async function main({ a, b }) { return a + b; }';
const SENTENCE = /^Code\(DummyConnector\): no code executor is configured; configure Code with .*CodeBackend/;

describe('DummyConnector (Code)', () => {
  const scope: CodeScope = { team: 'team-a', owner: AccessCandidate.agent('a1'), uid: 'calc' };
  const backend: CodeBackend = new DummyCodeConnector();

  it('fails every operation with one SreUnavailableError sentence, never undefined (W01)', async () => {
    const operations: Array<[string, Promise<unknown>]> = [
      ['prepareCode', backend.prepareCode(scope, { code: ADD }, {})],
      ['deployCode', backend.deployCode(scope, { code: ADD }, {})],
      ['executeCode', backend.executeCode(scope, { code: ADD }, {})],
      ['executeCodeDeployment', backend.executeCodeDeployment(scope, 'd', {}, {})],
      ['listCodeDeployments', backend.listCodeDeployments(scope, {})],
      ['getCodeDeployment', backend.getCodeDeployment(scope, 'd', {})],
      ['deleteCodeDeployment', backend.deleteCodeDeployment(scope, 'd', {})],
    ];
    for (const [name, attempt] of operations) {
      const error = await attempt.then(
        (value) => new Error(`${name} answered ${String(value)}`),
        (e: unknown) => e,
      );
      expect([name, error]).toEqual([name, expect.any(SreUnavailableError)]);
      expect((error as SreUnavailableError).message).toMatch(SENTENCE);
      expect(error).toMatchObject({ subsystem: 'Code', connector: 'DummyConnector' });
    }
  });

  it('names a named instance in the sentence', async () => {
    const named: CodeBackend = new DummyCodeConnector(
      {},
      createConnectorContext({ subsystem: 'Code', connector: 'DummyConnector', instance: 'jobs' }),
    );
    await expect(named.listCodeDeployments(scope, {})).rejects.toThrow(
      /^Code\(DummyConnector\)\[jobs\]: no code executor is configured; configure Code with /,
    );
  });

  describe('through CodeService', () => {
    const context = createConnectorContext({ subsystem: 'Code', connector: 'DummyConnector' });
    const code = new CodeService(new DummyCodeConnector({}, context), context, {
      account: teamResolver({ a1: 'team-a' }),
    });
    afterAll(() => code.disconnect());

    it('answers execute and executeDeployment as failed results carrying the sentence', async () => {
      for (const result of [
        await code.agent('a1').execute('calc', { code: ADD, inputs: { a: 1, b: 2 } }),
        await code.agent('a1').executeDeployment('calc', 'd', { a: 1, b: 2 }),
      ]) {
        expect(result).toMatchObject({ output: undefined, executionTime: 0, success: false });
        expect(result.errors).toEqual([expect.stringMatching(SENTENCE)]);
      }
    });

    it('rejects prepare, deploy, list, get and delete with the sentence', async () => {
      const agent = code.agent('a1');
      for (const attempt of [
        agent.prepare('calc', { code: ADD }),
        agent.deploy('calc', { code: ADD }),
        agent.listDeployments('calc'),
        agent.getDeployment('calc', 'd'),
        agent.deleteDeployment('calc', 'd'),
      ]) {
        await expect(attempt).rejects.toBeInstanceOf(SreUnavailableError);
        await expect(attempt).rejects.toThrow(SENTENCE);
      }
    });

    it('still decides access first: a candidate without a team is denied, not told about executors', async () => {
      expect(await code.agent('nobody').execute('calc', { code: ADD })).toMatchObject({
        success: false,
        errors: ['Access Denied'],
      });
    });
  });

  it("is registered as 'DummyConnector' and boots by name", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [fakeAccountModule({ a1: 'team-a' }), CodeModule.forRoot({ connector: 'DummyConnector' })],
    }).compile();
    await moduleRef.init();
    try {
      const service = moduleRef.get(CodeService);
      expect(await service.agent('a1').execute('calc', { code: ADD })).toMatchObject({
        success: false,
        errors: [expect.stringMatching(SENTENCE)],
      });
    } finally {
      await moduleRef.close();
    }
  });
});
