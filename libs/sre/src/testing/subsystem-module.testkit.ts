import { DynamicModule, Injectable, Module, ModuleMetadata, ValueProvider } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { AccountService } from '../account/account.service';
import type { SreBackend } from '../core/backend';
import { SreConfigError } from '../core/errors';
import type { SubsystemModuleAsyncOptions, SubsystemModuleOptions } from '../core/options';
import type { BackendClass } from '../core/registry';
import type { SreService } from '../core/service';
import type { Subsystem } from '../core/subsystem';
import type { AccessCandidate } from '../security/access-candidate';

type Imports = NonNullable<ModuleMetadata['imports']>;

/** The static face every `XModule` shares (built by `createSubsystemModule`). */
export interface SubsystemModuleUnderTest {
  forRoot(options: SubsystemModuleOptions<any, any>): DynamicModule;
  forRootAsync(options: SubsystemModuleAsyncOptions<any, any>): DynamicModule;
}

export interface SubsystemModuleCase<C extends SreBackend> {
  /** A user's own connector class (implements the backend), built by the module like a registered one. */
  connector: BackendClass<C>;
  /** Seed connectors that arrive later: each must be refused with a sentence, not called unknown. */
  planned: string[];
  /** A name that is neither available nor planned. */
  unknownName: string;
  /** Exactly the connector names this version registers (default: none). */
  available?: string[];
  /** Modules every boot of the suite gets beside the module under test (e.g. the subsystems it requires). */
  imports?: Imports;
}

export interface SubsystemModuleSuite<C> {
  /**
   * Boots the case's connector as the default instance, with `imports` (stand-ins for the subsystems
   * it uses) beside it, once for the enclosing `describe`, and closes it after; the accessor gives
   * the connector inside tests.
   */
  useConnector(...imports: Imports): () => C;
}

interface Lifecycle {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** The backend a service wraps (tests only: users never reach it). */
export function backendOf<B>(service: unknown): B {
  return (service as { backend: B }).backend;
}

/** How often the spied method ran on each of `instances` (a prototype spy sees every instance). */
function callsPer(spy: jest.SpyInstance, ...instances: unknown[]): number[] {
  return instances.map((instance) => spy.mock.contexts.filter((context) => context === instance).length);
}

async function bootError(imports: Imports): Promise<unknown> {
  return Test.createTestingModule({ imports })
    .compile()
    .then(
      (moduleRef) => moduleRef.close().then(() => new Error('the module booted')),
      (error: unknown) => error,
    );
}

/**
 * Registers the wiring tests every subsystem module must pass, whatever its contract: the registry
 * and its planned names, the refusal sentences, a custom connector class reachable through the
 * service class, the `default` alias, a named token and `@InjectX(name)`, one connect and one
 * disconnect per instance, `forRootAsync`, and `overrideProvider` removing the connection.
 * `definition` gives the subsystem's name, service class, registry and `getXToken`; `inject` is
 * `InjectX`. Call it inside the spec's own `describe`; contract and access tests stay in the spec.
 */
export function describeSubsystemModule<C extends SreBackend, S = SreService>(
  definition: Subsystem<any, any, any>,
  module: SubsystemModuleUnderTest,
  inject: (name?: string) => ParameterDecorator,
  { connector, planned, unknownName, available = [], imports: required = [] }: SubsystemModuleCase<C>,
): SubsystemModuleSuite<S> {
  const { subsystem, service, token, registry } = definition;
  const availableList = available.join(', ') || 'none yet';
  const connectorName = connector.connectorName ?? connector.name;
  const lifecycle = connector.prototype as unknown as Lifecycle;
  if (typeof lifecycle.connect !== 'function' || typeof lifecycle.disconnect !== 'function')
    throw new Error('describeSubsystemModule: the case connector must implement connect() and disconnect()');

  @Injectable()
  class Consumer {
    constructor(
      @inject() readonly main: unknown,
      @inject('x') readonly named: unknown,
    ) {}
  }

  describe('module wiring', () => {
    it(`registers ${available.length ? available.join(', ') : 'no connector yet'} and plans the seed's others`, () => {
      expect(registry.names()).toEqual(available);
      for (const name of planned) {
        expect([name, registry.isPlanned(name), registry.has(name)]).toEqual([name, true, false]);
      }
      expect(registry.isPlanned(unknownName)).toBe(false);
    });

    // registered only where there is something to refuse, so that it can fail
    if (planned.length) {
      it('refuses every planned connector with a sentence naming the available ones', async () => {
        for (const name of planned) {
          const error = await bootError([...required, module.forRoot({ connector: name })]);
          expect(error).toBeInstanceOf(SreConfigError);
          expect((error as Error).message).toContain(
            `connector '${name}' is not available in this version of nestjs-sre (available: ${availableList})`,
          );
        }
      });
    }

    it('lists the valid connectors for an unknown name, and refuses a class of another contract', async () => {
      const unknown = await bootError([...required, module.forRoot({ connector: unknownName })]);
      expect(unknown).toBeInstanceOf(SreConfigError);
      expect((unknown as Error).message).toContain(
        `unknown connector '${unknownName}' (valid connectors: ${availableList})`,
      );
      class Stranger {}
      const stranger = await bootError([...required, module.forRoot({ connector: Stranger as never })]);
      expect(stranger).toBeInstanceOf(SreConfigError);
      expect((stranger as Error).message).toContain(
        `a ${subsystem} connector implements ${subsystem}Backend; it lacks`,
      );
    });

    it('provides a connector class via the service, the default token, a named token and @InjectX(name)', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [...required, module.forRoot({ connector }), module.forRoot({ connector, name: 'x' })],
        providers: [Consumer],
      }).compile();
      const main = moduleRef.get<SreService>(service);
      const named = moduleRef.get<SreService>(token('x'));
      expect(main).toBeInstanceOf(service);
      expect(backendOf(main)).toBeInstanceOf(connector);
      expect(backendOf(named)).toBeInstanceOf(connector);
      expect(named).not.toBe(main);
      expect(moduleRef.get(token())).toBe(main);
      expect(moduleRef.get(Consumer).main).toBe(main);
      expect(moduleRef.get(Consumer).named).toBe(named);
      expect([main.subsystem, main.connectorName, main.instanceName]).toEqual([subsystem, connectorName, 'default']);
      expect(named.instanceName).toBe('x');
      await moduleRef.close();
    });

    it('connects each instance once at boot and disconnects it once on close', async () => {
      const connects = jest.spyOn(lifecycle, 'connect');
      const disconnects = jest.spyOn(lifecycle, 'disconnect');
      try {
        const moduleRef = await Test.createTestingModule({
          imports: [...required, module.forRoot({ connector }), module.forRoot({ connector, name: 'x' })],
        }).compile();
        const main = moduleRef.get<SreService>(service);
        const named = moduleRef.get<SreService>(token('x'));
        const backends = [backendOf(main), backendOf(named)];
        expect(callsPer(connects, ...backends)).toEqual([1, 1]);
        expect(callsPer(disconnects, ...backends)).toEqual([0, 0]);
        expect([main.state, named.state]).toEqual(['ready', 'ready']);
        await moduleRef.close();
        expect(callsPer(connects, ...backends)).toEqual([1, 1]);
        expect(callsPer(disconnects, ...backends)).toEqual([1, 1]);
        expect([main.state, named.state]).toEqual(['closed', 'closed']);
      } finally {
        connects.mockRestore();
        disconnects.mockRestore();
      }
    });

    it('builds the connector through forRootAsync, and says so when the factory is missing', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [...required, module.forRootAsync({ name: 'async', useFactory: async () => ({ connector }) })],
      }).compile();
      const built = moduleRef.get<SreService>(token('async'));
      expect(backendOf(built)).toBeInstanceOf(connector);
      expect([built.instanceName, built.state]).toEqual(['async', 'ready']);
      await moduleRef.close();
      expect(built.state).toBe('closed');
      const missing = (): unknown => module.forRootAsync({ name: 'none' });
      expect(missing).toThrow(SreConfigError);
      expect(missing).toThrow(`${subsystem}Module.forRootAsync() needs one of useFactory, useClass or useExisting`);
    });

    it('lets tests replace the service entirely, so that nothing connects', async () => {
      const connects = jest.spyOn(lifecycle, 'connect');
      try {
        const fake = { fake: true };
        const moduleRef = await Test.createTestingModule({ imports: [...required, module.forRoot({ connector })] })
          .overrideProvider(service)
          .useValue(fake)
          .compile();
        expect(moduleRef.get(service)).toBe(fake);
        expect(moduleRef.get(token())).toBe(fake);
        expect(connects).not.toHaveBeenCalled();
        await moduleRef.close();
      } finally {
        connects.mockRestore();
      }
    });
  });

  return {
    useConnector(...imports: Imports): () => S {
      let moduleRef: TestingModule | undefined;
      beforeAll(async () => {
        moduleRef = await Test.createTestingModule({
          imports: [...required, ...imports, module.forRoot({ connector })],
        }).compile();
      });
      afterAll(() => moduleRef?.close());
      return () => {
        if (!moduleRef) throw new Error('useConnector(): the connector boots in beforeAll; use it inside a test');
        return moduleRef.get<S>(service);
      };
    },
  };
}

@Module({})
class SpecDependenciesModule {}

/** A global module that provides these values, standing in for the subsystems a connector uses. */
export function globalValues(...providers: ValueProvider[]): DynamicModule {
  return {
    module: SpecDependenciesModule,
    global: true,
    providers,
    exports: providers.map((provider) => provider.provide),
  };
}

/** An Account stand-in: a team is its own team, anyone else belongs to `teams[id]` (or to none). */
export function fakeAccountModule(teams: Record<string, string>, more?: object): DynamicModule {
  const getCandidateTeam = async (candidate: AccessCandidate) =>
    candidate.role === 'team' ? candidate.id : teams[candidate.id];
  return globalValues({ provide: AccountService, useValue: { getCandidateTeam, ...more } });
}
