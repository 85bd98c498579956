import * as vm from 'node:vm';
import { SreAccessDeniedError, SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectCode } from './code.decorators';
import { CodeModule } from './code.module';
import { CODE_DEFINITION } from './code.registry';
import { CodeConfig, CodeDeployment, CodeExecutionResult, CodeInput, CodeScope, CodeService } from './code.service';

/** Runs `main(inputs)` in a fresh V8 context with a time limit; deployments live in a map. */
class VmCode extends CodeService {
  private readonly deployments = new Map<string, { deployment: CodeDeployment; code: string }>();

  private unit(scope: CodeScope): string {
    return JSON.stringify([scope.team, scope.owner.role, scope.owner.id, scope.uid]);
  }

  private async run(code: string, inputs: Record<string, unknown>): Promise<CodeExecutionResult> {
    const started = Date.now();
    const output = await vm.runInNewContext(`${code}\n;main(__inputs)`, { __inputs: inputs }, { timeout: 200 });
    return { output, executionTime: Date.now() - started, success: true };
  }

  protected async prepareCode(_scope: CodeScope, input: CodeInput) {
    return /\basync\s+function\s+main\b/.test(input.code)
      ? { prepared: true }
      : { prepared: false, errors: ['No main function found at root level'] };
  }

  protected async deployCode(scope: CodeScope, input: CodeInput, config: CodeConfig) {
    const id = `${scope.uid}-${this.deployments.size + 1}`;
    const deployment = { id, status: 'deployed', runtime: config.runtime ?? 'vm', createdAt: new Date() };
    this.deployments.set(`${this.unit(scope)}:${id}`, { deployment, code: input.code });
    return deployment;
  }

  protected async executeCode(_scope: CodeScope, input: CodeInput) {
    return this.run(input.code, input.inputs ?? {});
  }

  protected async executeCodeDeployment(scope: CodeScope, deploymentId: string, inputs: Record<string, unknown>) {
    const found = this.deployments.get(`${this.unit(scope)}:${deploymentId}`);
    if (!found) throw new SreNotFoundError(`deployment '${deploymentId}' does not exist`);
    return this.run(found.code, inputs);
  }

  protected async listCodeDeployments(scope: CodeScope) {
    return [...this.deployments.entries()]
      .filter(([key]) => key.startsWith(`${this.unit(scope)}:`))
      .map(([, value]) => value.deployment);
  }

  protected async getCodeDeployment(scope: CodeScope, deploymentId: string) {
    return this.deployments.get(`${this.unit(scope)}:${deploymentId}`)?.deployment;
  }

  protected async deleteCodeDeployment(scope: CodeScope, deploymentId: string) {
    this.deployments.delete(`${this.unit(scope)}:${deploymentId}`);
  }
}

const TEAMS: Record<string, string> = { a1: 'team-a', a2: 'team-a', b1: 'team-b' };

const ADD = 'async function main({ a, b }) { return a + b; }';

describe('CodeModule', () => {
  const { useConnector } = describeSubsystemModule(CODE_DEFINITION, CodeModule, InjectCode, {
    connector: VmCode,
    planned: ['AWSLambda', 'ECMASandbox'],
    unknownName: 'Lambda',
  });

  describe('requester', () => {
    const code = useConnector(fakeAccountModule(TEAMS));

    it('prepares and executes code, inputs passed as data', async () => {
      expect(await code().agent('a1').prepare('calc', { code: ADD })).toEqual({ prepared: true });
      expect(await code().agent('a1').prepare('calc', { code: 'const x = 1;' })).toEqual({
        prepared: false,
        errors: ['No main function found at root level'],
      });
      const result = await code()
        .agent('a1')
        .execute('calc', { code: ADD, inputs: { a: "it's", b: ' "quoted"' } });
      expect(result).toMatchObject({ success: true, output: 'it\'s "quoted"' });
    });

    it('never throws from execute: failures come back as results', async () => {
      expect(
        await code().agent('a1').execute('calc', { code: 'async function main() { throw new Error("boom"); }' }),
      ).toEqual({
        output: undefined,
        executionTime: 0,
        success: false,
        errors: [expect.stringMatching(/^Code\(VmCode\): running code: .*boom$/)],
      });
      expect(await code().agent('a1').execute('bad uid!', { code: ADD })).toMatchObject({
        success: false,
        errors: [expect.stringContaining('invalid code uid')],
      });
      expect(await code().agent('a1').execute('calc', { code: '' })).toMatchObject({ success: false });
      expect(await code().agent('a1').execute('calc', { code: ADD }, { timeout: -1 })).toMatchObject({
        success: false,
        errors: [expect.stringContaining('timeout')],
      });
      expect(await code().agent('nobody').execute('calc', { code: ADD })).toMatchObject({
        success: false,
        errors: ['Access Denied'],
      });
      expect(await code().agent('a1').executeDeployment('calc', 'missing', {})).toMatchObject({
        success: false,
        errors: ["deployment 'missing' does not exist"],
      });
    });

    it('deploys, runs, lists, reads and deletes deployments of its own units', async () => {
      const deployed = await code().agent('a1').deploy('calc', { code: ADD }, { runtime: 'nodejs22.x' });
      expect(deployed).toMatchObject({ status: 'deployed', runtime: 'nodejs22.x' });
      expect(await code().agent('a1').executeDeployment('calc', deployed.id, { a: 2, b: 3 })).toMatchObject({
        success: true,
        output: 5,
      });
      expect(await code().agent('a1').listDeployments('calc')).toEqual([deployed]);
      expect(await code().agent('a1').getDeployment('calc', deployed.id)).toEqual(deployed);
      // a teammate and another team use the same uid but reach their own units only
      expect(await code().agent('a2').listDeployments('calc')).toEqual([]);
      expect(await code().agent('b1').getDeployment('calc', deployed.id)).toBeUndefined();
      expect(await code().agent('b1').executeDeployment('calc', deployed.id, { a: 1, b: 1 })).toMatchObject({
        success: false,
      });
      await code().agent('a1').deleteDeployment('calc', deployed.id);
      expect(await code().agent('a1').listDeployments('calc')).toEqual([]);
    });

    it('denies another team and a candidate without a team', async () => {
      await expect(code().agent('nobody').deploy('calc', { code: ADD })).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(code().user('nobody').listDeployments('calc')).rejects.toBeInstanceOf(SreAccessDeniedError);
      expect(await code().hasAccess(AccessCandidate.agent('b1'), 'read', 'teams/team-a/code/agent/a1/calc')).toBe(
        false,
      );
      expect(await code().hasAccess(AccessCandidate.team('team-b'), 'write', 'teams/team-a/code/agent/a1/calc')).toBe(
        false,
      );
      expect(await code().hasAccess(AccessCandidate.agent('a1'), 'write', 'teams/team-a/code/agent/a1/calc')).toBe(
        true,
      );
    });

    it('rejects malformed input before the backend sees it', async () => {
      await expect(
        code()
          .agent('a1')
          .deploy('calc', { code: ADD, files: { 'a.js': 1 as never } }),
      ).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(code().agent('a1').getDeployment('calc', '')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(
        code()
          .agent('a1')
          .listDeployments('calc', { environment: { A: 1 as never } }),
      ).rejects.toBeInstanceOf(SreInvalidInputError);
    });
  });
});
