import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { MemoryLogBackend } from '../testing/backends/memory-log.backend';
import { backendOf, describeSubsystemModule } from '../testing/subsystem-module.testkit';
import { ConsoleLogConnector } from './connectors/console-log.connector';
import { getLogToken, InjectLog, LOG, LOG_CONNECTORS, LogModule } from './log.module';
import { LogService } from './log.service';

@Injectable()
class Consumer {
  constructor(
    readonly log: LogService,
    @InjectLog('audit') readonly audit: LogService,
  ) {}
}

describe('LogModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryLogBackend, LogService>(LOG, LogModule, InjectLog, {
    connector: MemoryLogBackend,
    planned: [],
    unknownName: 'FileLog',
    available: ['ConsoleLog'],
  });

  describe('over a custom backend', () => {
    const log = useConnector();

    it('hands the agent’s entries to the backend the module built', async () => {
      await log().agent('a1').log({ step: 1 }, 'c1');
      expect(backendOf<MemoryLogBackend>(log()).entries).toEqual([{ agentId: 'a1', entry: { step: 1 }, callId: 'c1' }]);
    });
  });

  it('provides ConsoleLog by name with its settings, and named instances', async () => {
    expect(LOG_CONNECTORS.names()).toEqual(['ConsoleLog']);
    const moduleRef = await Test.createTestingModule({
      imports: [
        LogModule.forRoot({ connector: 'ConsoleLog' }),
        LogModule.forRoot({ name: 'audit', connector: 'ConsoleLog', settings: { level: 'log' } }),
      ],
      providers: [Consumer],
    }).compile();
    const consumer = moduleRef.get(Consumer);
    expect(consumer.log).toBeInstanceOf(LogService);
    expect(backendOf(consumer.log)).toBeInstanceOf(ConsoleLogConnector);
    expect(backendOf(consumer.audit)).toBeInstanceOf(ConsoleLogConnector);
    expect(moduleRef.get(getLogToken())).toBe(consumer.log);
    expect(moduleRef.get(getLogToken('audit'))).toBe(consumer.audit);
    expect(consumer.audit).not.toBe(consumer.log);
    expect(() => consumer.log.requester(AccessCandidate.user('u1'))).toThrow(SreAccessDeniedError);
    await moduleRef.close();
    expect(consumer.log.state).toBe('closed');
  });

  it('fails at boot on invalid settings', async () => {
    const boot = Test.createTestingModule({
      imports: [LogModule.forRoot({ connector: 'ConsoleLog', settings: { level: 'error' as never } })],
    }).compile();
    await expect(boot).rejects.toBeInstanceOf(SreConfigError);
    await expect(boot).rejects.toThrow('Log(ConsoleLog).settings.level');
  });
});
