import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { MemoryCodeBackend } from '../testing/backends/memory-code.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { CODE, CODE_CONNECTORS, CodeModule, InjectCode } from './code.module';
import { CodeService } from './code.service';

const TEAMS: Record<string, string> = { a1: 'team-a', a2: 'team-a', b1: 'team-b' };

const ADD = 'async function main({ a, b }) { return a + b; }';

describe('CodeModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryCodeBackend, CodeService>(CODE, CodeModule, InjectCode, {
    connector: MemoryCodeBackend,
    planned: [],
    available: ['AWSLambda', 'ECMASandbox', 'DummyConnector'],
    unknownName: 'Lambda',
    imports: [fakeAccountModule(TEAMS)],
  });

  it('loads AWSLambda on first use and names its SDK', () => {
    expect(CODE_CONNECTORS.entry('AWSLambda')?.sdk).toEqual([{ package: '@aws-sdk/client-lambda', range: '^3' }]);
  });

  describe('requester, over the Account the application provides', () => {
    const code = useConnector();

    it('scopes units to the team the Account module resolves', async () => {
      expect(backendOf(code())).toBeInstanceOf(MemoryCodeBackend);
      const deployed = await code().agent('a1').deploy('calc', { code: ADD });
      expect(await code().agent('a1').executeDeployment('calc', deployed.id, { a: 2, b: 3 })).toMatchObject({
        success: true,
        output: 5,
      });
      expect(await code().agent('b1').getDeployment('calc', deployed.id)).toBeUndefined();
      await expect(code().agent('nobody').deploy('calc', { code: ADD })).rejects.toBeInstanceOf(SreAccessDeniedError);
    });
  });

  it('fails at boot with a sentence when no Account subsystem is provided', async () => {
    const boot = Test.createTestingModule({
      imports: [CodeModule.forRoot({ connector: MemoryCodeBackend })],
    }).compile();
    await expect(boot).rejects.toBeInstanceOf(SreConfigError);
    await expect(boot).rejects.toThrow(
      'Code(MemoryCode): needs the Account subsystem (team resolution), which this application does not provide',
    );
  });
});
