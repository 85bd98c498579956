import { Test } from '@nestjs/testing';
import { SreAccessDeniedError, SreConfigError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { MemoryComponentBackend } from '../testing/backends/memory-component.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { COMPONENT, ComponentModule, InjectComponent } from './component.module';
import { ComponentService } from './component.service';

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };

describe('ComponentModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryComponentBackend, ComponentService>(
    COMPONENT,
    ComponentModule,
    InjectComponent,
    {
      connector: MemoryComponentBackend,
      planned: [],
      available: ['LocalComponent'],
      unknownName: 'Local',
      imports: [fakeAccountModule(TEAMS)],
    },
  );

  describe('requester, over the Account the application provides', () => {
    const builtIn = { name: 'APICall' };
    const components = useConnector();

    beforeAll(() => components().registerGlobal('APICall', builtIn));

    it('resolves teams through the Account module and keeps overlays apart', async () => {
      expect(backendOf(components())).toBeInstanceOf(MemoryComponentBackend);
      const mine = { name: 'mine' };
      await components().agent('a1').register('APICall', mine);
      expect(await components().team('team-a').get('APICall')).toBe(mine);
      expect(await components().agent('b1').get('APICall')).toBe(builtIn);
      expect(await components().requester(AccessCandidate.public()).get('APICall')).toBe(builtIn);
      await expect(components().user('nobody').register('X', {})).rejects.toBeInstanceOf(SreAccessDeniedError);
    });
  });

  it('fails at boot with a sentence when no Account subsystem is provided', async () => {
    const boot = Test.createTestingModule({
      imports: [ComponentModule.forRoot({ connector: MemoryComponentBackend })],
    }).compile();
    await expect(boot).rejects.toBeInstanceOf(SreConfigError);
    await expect(boot).rejects.toThrow(
      'Component(MemoryComponent): needs the Account subsystem (team resolution), which this application does not provide',
    );
  });
});
