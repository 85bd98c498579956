import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ConsoleLogConnector } from './connectors/console-log.connector';
import { InjectLog } from './log.decorators';
import { LogModule } from './log.module';
import { LOG_CONNECTORS } from './log.registry';
import { LogService } from './log.service';
import { getLogToken } from './log.tokens';

@Injectable()
class Consumer {
  constructor(
    readonly log: LogService,
    @InjectLog('audit') readonly audit: LogService,
  ) {}
}

describe('LogModule', () => {
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
    expect(consumer.log).toBeInstanceOf(ConsoleLogConnector);
    expect(moduleRef.get(getLogToken())).toBe(consumer.log);
    expect(consumer.audit).not.toBe(consumer.log);
    expect(() => consumer.log.requester(AccessCandidate.user('u1'))).toThrow(SreAccessDeniedError);
    await moduleRef.close();
    expect(consumer.log.state).toBe('closed');
  });

  it('fails at boot on invalid settings', async () => {
    const boot = Test.createTestingModule({
      imports: [LogModule.forRoot({ connector: 'ConsoleLog', settings: { level: 'error' } })],
    }).compile();
    await expect(boot).rejects.toBeInstanceOf(SreConfigError);
  });
});
