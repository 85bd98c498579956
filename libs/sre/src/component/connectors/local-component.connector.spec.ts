import { Injectable, Module, Scope } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreAccessDeniedError, SreConfigError, SreInvalidInputError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { describeComponentBackend } from '../../testing/component.contract';
import { backendOf, fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { SreComponent } from '../component.decorator';
import { ComponentModule } from '../component.module';
import { ComponentService } from '../component.service';
import { LocalComponentConnector } from './local-component.connector';

describeComponentBackend(
  'LocalComponent',
  () =>
    new LocalComponentConnector({}, createConnectorContext({ subsystem: 'Component', connector: 'LocalComponent' })),
);

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };

@SreComponent('APICall')
@Injectable()
class ApiCallComponent {
  process(): string {
    return 'called';
  }
}

@Injectable()
class Clock {
  now(): number {
    return 42;
  }
}

@SreComponent('LLMPrompt')
@Injectable()
class LlmPromptComponent {
  constructor(readonly clock: Clock) {}
}

/** Components declared in a feature module of the application, not beside ComponentModule. */
@Module({ providers: [Clock, LlmPromptComponent] })
class PromptsModule {}

describe('LocalComponent in Nest: @SreComponent providers', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  const boot = async (extra: { imports?: unknown[]; providers?: unknown[] } = {}) => {
    moduleRef = await Test.createTestingModule({
      imports: [
        DiscoveryModule,
        fakeAccountModule(TEAMS),
        ComponentModule.forRoot({ connector: 'LocalComponent' }),
        ...((extra.imports ?? []) as never[]),
      ],
      providers: (extra.providers ?? []) as never[],
    }).compile();
    await moduleRef.init();
    return moduleRef.get(ComponentService);
  };

  it('registers every decorated provider instance as a global component, listed and looked up', async () => {
    const components = await boot({ imports: [PromptsModule], providers: [ApiCallComponent] });
    expect(backendOf(components)).toBeInstanceOf(LocalComponentConnector);
    const apiCall = moduleRef!.get(ApiCallComponent);
    const prompt = moduleRef!.get(LlmPromptComponent, { strict: false });
    const seen = components.requester(AccessCandidate.public());
    expect(await seen.get('APICall')).toBe(apiCall);
    expect(await seen.get<LlmPromptComponent>('LLMPrompt')).toBe(prompt);
    expect((await seen.get<LlmPromptComponent>('LLMPrompt'))?.clock.now()).toBe(42);
    expect(await seen.getAll()).toEqual({ APICall: apiCall, LLMPrompt: prompt });
    expect(await components.agent('b1').getAll()).toEqual({ APICall: apiCall, LLMPrompt: prompt });
  });

  it('finds them without DiscoveryModule in the application (ComponentModule imports it)', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [fakeAccountModule(TEAMS), ComponentModule.forRoot({ connector: 'LocalComponent' })],
      providers: [ApiCallComponent],
    }).compile();
    const components = moduleRef.get(ComponentService);
    expect(await components.team('team-a').get('APICall')).toBe(moduleRef.get(ApiCallComponent));
  });

  it('keeps a team registration in its overlay and the global component for everyone else (W10)', async () => {
    const components = await boot({ providers: [ApiCallComponent] });
    const apiCall = moduleRef!.get(ApiCallComponent);
    const mine = { name: 'mine' };
    await components.agent('a1').register('APICall', mine);
    expect(await components.agent('a1').get('APICall')).toBe(mine);
    expect(await components.agent('b1').get('APICall')).toBe(apiCall);
    expect(await components.requester(AccessCandidate.public()).get('APICall')).toBe(apiCall);
    // reading is not enough to write, and no requester reaches the global registry
    await expect(components.requester(AccessCandidate.public()).register('APICall', {})).rejects.toBeInstanceOf(
      SreAccessDeniedError,
    );
    await expect(components.user('nobody').register('APICall', {})).rejects.toBeInstanceOf(SreAccessDeniedError);
    expect(await components.team('team-b').get('APICall')).toBe(apiCall);
  });

  it('lets the application replace a discovered component with registerGlobal', async () => {
    const components = await boot({ providers: [ApiCallComponent] });
    const replacement = { name: 'replacement' };
    await components.registerGlobal('APICall', replacement);
    expect(await components.team('team-a').get('APICall')).toBe(replacement);
  });

  it('refuses two providers marked with one name', async () => {
    @SreComponent('APICall')
    @Injectable()
    class Impostor {}
    const components = await boot({ providers: [ApiCallComponent, Impostor] });
    const read = components.team('team-a').get('APICall');
    await expect(read).rejects.toBeInstanceOf(SreConfigError);
    await expect(read).rejects.toThrow(
      "Component(LocalComponent): @SreComponent('APICall') marks two providers (ApiCallComponent and Impostor)",
    );
  });

  it('refuses a marked provider that is not a singleton', async () => {
    @SreComponent('PerRequest')
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {}
    const components = await boot({ providers: [PerRequest] });
    await expect(components.team('team-a').getAll()).rejects.toThrow(
      "@SreComponent('PerRequest') marks PerRequest, which is not a singleton",
    );
  });

  it('checks the name when the class is declared', () => {
    expect(() => SreComponent('')).toThrow(SreInvalidInputError);
    expect(() => SreComponent('a\nb')).toThrow(SreInvalidInputError);
    expect(() => SreComponent('x'.repeat(129))).toThrow('longer than 128 bytes');
  });

  it('boots with no decorated provider to an empty global registry', async () => {
    const components = await boot();
    expect(await components.team('team-a').getAll()).toEqual({});
  });
});

describe('LocalComponent discovery, outside a full boot', () => {
  it('registers a provider instantiated after the first call on a later call, then stops looking', () => {
    const late = { name: 'late' };
    const host = { isResolved: false, instance: undefined as object | undefined };
    const wrapper = {
      name: 'Late',
      isTransient: false,
      isDependencyTreeStatic: () => true,
      getInstanceByContextId: () => host,
    };
    const discovery = { getProviders: jest.fn(() => [wrapper]), getMetadataByDecorator: () => 'Late' };
    const backend = new LocalComponentConnector(
      {},
      createConnectorContext({
        subsystem: 'Component',
        connector: 'LocalComponent',
        deps: { discovery: discovery as never },
      }),
    );
    expect(backend.listComponents(undefined)).toEqual({});
    Object.assign(host, { isResolved: true, instance: late });
    expect(backend.readComponent(undefined, 'Late')).toBe(late);
    expect(backend.listComponents('team-a')).toEqual({});
    expect(discovery.getProviders).toHaveBeenCalledTimes(2);
  });
});
