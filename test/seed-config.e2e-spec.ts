import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  LLMService,
  SreConfigError,
  SreHealthService,
  SreModule,
  SreUnavailableError,
  SUBSYSTEMS,
  VectorDBService,
} from 'nestjs-sre';
import { SreHealthModule } from 'nestjs-sre/health';

/**
 * The seed's "Development Environment" configuration (docs/README.md of the original SRE) against
 * this version. What is real today:
 *
 * - every entry except VectorDB has a real connector that boots and reports `up` under the seed's
 *   connector name (Code's `DummyConnector` is real: it pings up and refuses every operation);
 * - VectorDB `RAMVec` is planned, not available: naming it explicitly fails the boot with one
 *   problem (docs/configuration.md: "Asking explicitly for a connector that is not in this version
 *   fails the boot"); left out, VectorDB resolves to the unavailable stand-in, which is not tracked
 *   by the lifecycle host and so not in the health output;
 * - LLM is not in the seed's table and has no default: the unavailable stand-in as well.
 *
 * `isUnavailableConnector` is not exported from 'nestjs-sre', so the stand-in is recognised by its
 * documented behaviour: `unavailable: true` and `SreUnavailableError` on first use.
 */

/** Every subsystem the seed's table names and that has a real connector today, with that name. */
const REAL_TODAY: Record<string, string> = {
  Vault: 'JSONFileVault',
  Account: 'DummyAccount',
  Cache: 'RAM',
  Storage: 'LocalStorage',
  Code: 'DummyConnector',
  NKV: 'LocalStorage',
  Component: 'LocalComponent',
  ModelsProvider: 'JSONModelsProvider',
  Log: 'ConsoleLog',
  Router: 'NullRouter',
  AgentData: 'NullAgentData',
  ManagedVault: 'NullManagedVault',
};
/** Subsystems that resolve to the unavailable stand-in with the seed's config (minus VectorDB). */
const STAND_IN_TODAY = ['VectorDB', 'LLM'];

function isStandIn(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { unavailable?: unknown }).unavailable === true;
}

describe("the seed's Development Environment configuration (e2e)", () => {
  let root: string;
  let app: INestApplication | undefined;
  const savedEnv = { ...process.env };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-seed-config-'));
    process.env.SRE_DATA_DIR = path.join(root, 'data');
    // no developer vault (~/.smyth) can be read
    process.env.HOME = path.join(root, 'home');
    fs.mkdirSync(process.env.HOME);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    process.env = { ...savedEnv };
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('covers every subsystem: the two tables above partition SUBSYSTEMS', () => {
    expect([...Object.keys(REAL_TODAY), ...STAND_IN_TODAY].sort()).toEqual([...SUBSYSTEMS].sort());
  });

  it('verbatim: type-checks as SreConfig, and boot fails with exactly one problem, VectorDB RAMVec', async () => {
    // A fresh object literal passed directly: excess-property and connector-name checks apply.
    const attempt = Test.createTestingModule({
      imports: [
        SreModule.forRoot({
          Vault: {
            Connector: 'JSONFileVault',
            Settings: { shared: 'development' },
          },
          Account: { Connector: 'DummyAccount' },
          Cache: { Connector: 'RAM' },
          Storage: { Connector: 'LocalStorage' },
          Code: { Connector: 'DummyConnector' },
          NKV: { Connector: 'LocalStorage' },
          VectorDB: {
            Connector: 'RAMVec',
            Settings: {
              embeddings: {
                provider: 'openai',
                model: 'text-embedding-3-small',
              },
            },
          },
          Component: { Connector: 'LocalComponent' },
          ModelsProvider: { Connector: 'JSONModelsProvider' },
          Log: { Connector: 'ConsoleLog' },
          Router: { Connector: 'NullRouter' },
          AgentData: { Connector: 'NullAgentData' },
          ManagedVault: { Connector: 'NullManagedVault' },
        }),
      ],
    }).compile();
    const error = await attempt.then(
      async (moduleRef) => {
        await moduleRef.close();
        throw new Error('compile() should have failed: RAMVec is planned, not available');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as SreConfigError).problems).toEqual([
      "VectorDB: connector 'RAMVec' is not available in this version of nestjs-sre (available: none yet)",
    ]);
  });

  it('without its VectorDB entry: every other subsystem is a real connector, up, under the seed name', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SreModule.forRoot({
          Vault: {
            Connector: 'JSONFileVault',
            Settings: { shared: 'development' },
          },
          Account: { Connector: 'DummyAccount' },
          Cache: { Connector: 'RAM' },
          Storage: { Connector: 'LocalStorage' },
          Code: { Connector: 'DummyConnector' },
          NKV: { Connector: 'LocalStorage' },
          Component: { Connector: 'LocalComponent' },
          ModelsProvider: { Connector: 'JSONModelsProvider' },
          Log: { Connector: 'ConsoleLog' },
          Router: { Connector: 'NullRouter' },
          AgentData: { Connector: 'NullAgentData' },
          ManagedVault: { Connector: 'NullManagedVault' },
        }),
        SreHealthModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();

    const health = await app.get(SreHealthService).check();
    const reported = Object.fromEntries(
      health.map(({ subsystem, instance, connector, status, error }) => [
        subsystem,
        { instance, connector, status, error },
      ]),
    );
    expect(health).toHaveLength(Object.keys(REAL_TODAY).length); // one entry per subsystem, no more
    expect(reported).toEqual(
      Object.fromEntries(
        Object.entries(REAL_TODAY).map(([subsystem, connector]) => [
          subsystem,
          { instance: 'default', connector, status: 'up', error: undefined },
        ]),
      ),
    );

    // the stand-ins: never tracked, never pinged, and every call says why
    for (const [subsystem, token] of [
      ['VectorDB', VectorDBService],
      ['LLM', LLMService],
    ] as const) {
      expect(STAND_IN_TODAY).toContain(subsystem);
      const service = app.get<object>(token);
      expect(isStandIn(service)).toBe(true);
      expect((service as { subsystem?: unknown }).subsystem).toBe(subsystem);
    }
    const vectors = app.get(VectorDBService);
    expect(() => vectors.team('acme')).toThrow(SreUnavailableError);
    expect(() => vectors.team('acme')).toThrow(/^VectorDB is not available: /);
  });
});
