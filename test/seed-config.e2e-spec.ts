import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CodeService,
  LLMService,
  SreHealthService,
  SreModule,
  SreUnavailableError,
  SUBSYSTEMS,
  VectorDBService,
} from 'nestjs-sre';
import { SreHealthModule } from 'nestjs-sre/health';

/**
 * The seed's "Development Environment" configuration (docs/README.md of the original SRE) against
 * this version: every entry has a real connector that boots and reports `up` under the seed's
 * connector name (Code's `DummyConnector` is real: it pings up and refuses every operation;
 * VectorDB `RAMVec` boots without a key and embeds through OpenAI when asked). LLM is not in the
 * seed's table and has no default: it resolves to the unavailable stand-in, which is not tracked by
 * the lifecycle host and so not in the health output.
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
  VectorDB: 'RAMVec',
};
/** Subsystems that resolve to the unavailable stand-in with the seed's config. */
const STAND_IN_TODAY = ['LLM'];

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

  it('verbatim: type-checks as SreConfig, boots, and every subsystem of it is a real connector, up, under the seed name', async () => {
    // A fresh object literal passed directly: excess-property and connector-name checks apply.
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

    // RAMVec works without a key until it has to embed: a namespace, then a clear error
    const vectors = app.get(VectorDBService).team('acme');
    await vectors.createNamespace('docs');
    delete process.env.OPENAI_API_KEY;
    await expect(vectors.search('docs', 'anything')).rejects.toThrow(/no OpenAI API key to embed/);

    // the stand-in: never tracked, never pinged, and every call says why
    const llm = app.get<object>(LLMService);
    expect(isStandIn(llm)).toBe(true);
    expect((llm as { subsystem?: unknown }).subsystem).toBe('LLM');
  });

  it('left out entirely (SreModule.forRoot({})): the same real connectors but Code, which has no default (W01)', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SreModule.forRoot({}), SreHealthModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    const health = await app.get(SreHealthService).check();
    expect(
      Object.fromEntries(health.map(({ subsystem, connector, status }) => [subsystem, `${connector}:${status}`])),
    ).toEqual(
      Object.fromEntries(
        Object.entries(REAL_TODAY)
          .filter(([subsystem]) => subsystem !== 'Code')
          .map(([subsystem, connector]) => [subsystem, `${connector}:up`]),
      ),
    );
    expect(() => app!.get(LLMService).team('acme')).toThrow(SreUnavailableError);
    expect(() => app!.get(CodeService).team('acme')).toThrow(SreUnavailableError);
  });
});
