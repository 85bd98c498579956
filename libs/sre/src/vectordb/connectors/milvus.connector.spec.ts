import { Logger } from '@nestjs/common';

import { Test } from '@nestjs/testing';
import { startMilvusPeer, type MilvusPeer } from '../../../../../test/peers/milvus';
import { startOpenAIPeer, type OpenAIPeer } from '../../../../../test/peers/openai';
import { createConnectorContext, type ConnectorContext } from '../../core/backend';
import { SreAuthError, SreBackendError, SreConfigError, SreError } from '../../core/errors';
import { collectSecretValues } from '../../core/secrets';
import { validateSettings } from '../../core/settings';
import type { SecretReader } from '../../llm/llm-credentials';
import { NKVService } from '../../nkv/nkv.service';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { MemoryNKVBackend } from '../../testing/backends/memory-nkv.backend';
import { teamResolver } from '../../testing/contract-harness';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { VectorDBModule } from '../vectordb.module';
import { VectorDBService } from '../vectordb.service';
import { describeVectorDBBackend } from '../../testing/vectordb.contract';
import type { DatasourceInput } from '../vectordb.backend';
import { MilvusConnector, MilvusSettings } from './milvus.connector';
import { collectionOf } from './milvus-schema';
import { namespaceOf, namespaceRecordOf } from './vector-connector.testkit';

const TOKEN = 'milvus-root-token-5f3a9c';
const PASSWORD = 'milvus-password-8b2e77';
const vault: SecretReader = { requester: () => ({ get: async (key) => (key === 'openai' ? 'sk-embed' : undefined) }) };

let milvus: MilvusPeer;
let openai: OpenAIPeer;
beforeAll(async () => {
  [milvus, openai] = await Promise.all([
    startMilvusPeer({ credentials: [TOKEN, `admin:${PASSWORD}`] }),
    startOpenAIPeer({ apiKeys: ['sk-embed'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([milvus?.stop(), openai?.stop()]);
});

function settingsOf(more: Record<string, unknown> = {}): MilvusSettings {
  const { settings, problems } = validateSettings(
    MilvusSettings,
    {
      credentials: { address: milvus.address, token: TOKEN },
      embeddings: { model: 'text-embedding-3-small', dimensions: 32, baseURL: openai.baseURL, credentials: 'vault' },
      ...more,
    },
    'VectorDB(Milvus).settings',
  );
  expect(problems).toEqual([]);
  return settings;
}

function contextOf(settings: MilvusSettings, deps: ConnectorContext['deps'] = { vault }) {
  return createConnectorContext({
    subsystem: 'VectorDB',
    connector: 'Milvus',
    deps,
    secrets: collectSecretValues(settings),
  });
}

const make = (more: Record<string, unknown> = {}, deps?: ConnectorContext['deps']) => {
  const settings = settingsOf(more);
  return new MilvusConnector(settings, contextOf(settings, deps));
};

/** A fresh server for each test, as the contract wants a backend that starts empty. */
const fresh = (more?: Record<string, unknown>, deps?: () => ConnectorContext['deps']) => () => {
  milvus.reset();
  return make(more, deps?.());
};

describeVectorDBBackend('Milvus (records in the collections)', fresh(), { timeout: 20_000 });

describeVectorDBBackend(
  'Milvus (records in NKV)',
  fresh({}, () => ({
    vault,
    nkv: new NKVService(new MemoryNKVBackend(), undefined, { account: teamResolver({}) }),
  })),
  { timeout: 20_000 },
);

describe('Milvus', () => {
  const ALICE = AccessCandidate.user('alice');
  const input = (id: string, text: string, more: Partial<DatasourceInput> = {}): DatasourceInput => ({
    id,
    label: 'l',
    text,
    metadata: {},
    returnFullVectorInfo: true,
    acl: new ACL().grant(ALICE, 'owner'),
    ...more,
  });

  let connector: MilvusConnector;
  let logged: string[];
  beforeEach(async () => {
    milvus.reset();
    logged = [];
    for (const level of ['log', 'error', 'warn', 'debug', 'verbose'] as const)
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
  });
  afterEach(async () => {
    await connector?.disconnect();
    jest.restoreAllMocks();
  });

  it('validates settings with messages naming the field, never a secret', () => {
    const check = (raw: unknown) => validateSettings(MilvusSettings, raw, 'VectorDB(Milvus).settings').problems.sort();
    expect(check({})).toEqual([
      'VectorDB(Milvus).settings.credentials: is required: { address, token } or { address, user, password }',
    ]);
    expect(check({ credentials: { address: '' } })).toEqual([
      'VectorDB(Milvus).settings.credentials.address: should not be empty',
    ]);
    expect(check({ credentials: { address: 'h:1', user: 'admin' } })).toEqual([
      'VectorDB(Milvus).settings.credentials.password: must be a string (user and password go together)',
      'VectorDB(Milvus).settings.credentials.password: must not be empty (user and password go together)',
    ]);
    const secretive = check({
      credentials: { address: 'h:1', password: PASSWORD, token: 42 },
      collectionPrefix: '9bad-prefix',
      chunkSize: 50_000,
    });
    expect(secretive).toEqual([
      'VectorDB(Milvus).settings.chunkSize: must not be greater than 16000',
      'VectorDB(Milvus).settings.collectionPrefix: must be 1-32 of A-Z a-z 0-9 _, not starting with a digit',
      'VectorDB(Milvus).settings.credentials.token: must be a string',
      'VectorDB(Milvus).settings.credentials.user: must be a string (user and password go together)',
      'VectorDB(Milvus).settings.credentials.user: must not be empty (user and password go together)',
    ]);
    expect(secretive.join('\n')).not.toContain(PASSWORD);
    expect(check({ credentials: { address: 'h:1', user: 'admin', password: PASSWORD } })).toEqual([]);
  });

  it('connects with a token or with user and password; refused credentials are a clear error without them', async () => {
    connector = make();
    await connector.connect();
    await connector.disconnect();
    connector = make({ credentials: { address: milvus.address, user: 'admin', password: PASSWORD } });
    await connector.connect();
    expect(milvus.requests.at(-1)?.auth).toBe(`admin:${PASSWORD}`);
    await connector.disconnect();
    const wrong = 'not-the-token-1234';
    connector = make({ credentials: { address: milvus.address, token: wrong } });
    const error = (await connector.connect().catch((e: unknown) => e)) as SreError;
    expect(error).toBeInstanceOf(SreAuthError);
    expect([error.subsystem, error.connector]).toEqual(['VectorDB', 'Milvus']);
    expect(error.message).toContain('refused the credentials');
    expect(`${error.message} ${error.stack}`).not.toContain(wrong);
    expect(logged.join('\n')).not.toMatch(new RegExp(`${TOKEN}|${PASSWORD}|${wrong}`));
  });

  it('keeps an injection attempt in a datasource id or metadata value a plain value (W35)', async () => {
    connector = make();
    await connector.connect();
    const ns = namespaceOf(ALICE);
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    const victim = await connector.upsertDatasource(
      ns,
      input('victim', 'apples bananas cherries', { metadata: { k: 'v' } }),
    );
    // ids are restricted by the service; the backend must stay safe even without that check
    const evil = 'x" || datasourceId != "';
    await connector.upsertDatasource(ns, input(evil, 'quantum physics lecture notes'));
    expect(await connector.dropDatasource(ns, evil)).toBe(true);
    expect((await connector.readDatasource(ns, 'victim'))?.vectorIds).toEqual(victim!.vectorIds);
    const sneaky = await connector.searchVectors(ns, victim!.vectorInfo![0].values, {
      topK: 10,
      includeMetadata: true,
      filter: { k: 'v" or kind != "', n: { $in: ['a\\"', 'line\nbreak', 1, true] } },
    });
    expect(sneaky).toEqual([]);
    const matching = await connector.searchVectors(ns, victim!.vectorInfo![0].values, {
      topK: 10,
      includeMetadata: true,
      filter: { k: 'v' },
    });
    expect(matching!.map((r) => r.id)).toEqual(victim!.vectorIds);
    const deletes = milvus.requests.filter((r) => r.method === 'Delete').map((r) => r.expr);
    expect(deletes).toContain('datasourceId == "x\\" || datasourceId != \\""');
  });

  it('turns a non-zero status inside a response into a clear error', async () => {
    connector = make();
    await connector.connect();
    const ns = namespaceOf(ALICE);
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    milvus.failNext('Insert', `quota exceeded for token ${TOKEN}`, 2000);
    const error = (await connector.upsertDatasource(ns, input('d', 'some text')).catch((e: unknown) => e)) as SreError;
    expect(error).toBeInstanceOf(SreBackendError);
    expect(error.message).toBe('Milvus insert failed: quota exceeded for token *** (code 2000)');
    expect([error.subsystem, error.connector]).toEqual(['VectorDB', 'Milvus']);
    expect(await connector.listDatasourceRecords(ns)).toEqual([]);
    milvus.failNext('ShowCollections', 'rate limited', 8);
    await expect(connector.listNamespaceRecords(ALICE)).rejects.toThrow(
      'Milvus list collections failed: rate limited (code 8)',
    );
    milvus.failNext('CreateIndex', 'no index for you', 1100);
    const other = namespaceOf(ALICE, 'other');
    await expect(connector.createNamespace(other, namespaceRecordOf(other))).rejects.toThrow(
      'Milvus create the index failed: no index for you',
    );
    // a later call heals the half-made namespace: index and load are checked on use
    expect(await connector.upsertDatasource(other, input('d', 'healed'))).toBeDefined();
  });

  it('loads a collection again that was released behind its back', async () => {
    connector = make();
    await connector.connect();
    const ns = namespaceOf(ALICE);
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    const stored = await connector.upsertDatasource(ns, input('d', 'released and loaded'));
    for (const collection of milvus.collections.values()) collection.loaded = false;
    const hits = await connector.searchVectors(ns, stored!.vectorInfo![0].values, {
      topK: 1,
      includeMetadata: false,
      filter: {},
    });
    expect(hits!.map((hit) => hit.id)).toEqual(stored!.vectorIds);
  });

  it('never logs credentials, and never puts them in an error', async () => {
    connector = make({ credentials: { address: milvus.address, token: TOKEN } });
    await connector.connect();
    const ns = namespaceOf(ALICE);
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    milvus.failNext('Search', `denied: ${TOKEN}`);
    const error = (await connector
      .searchVectors(ns, 'x', { topK: 1, includeMetadata: false, filter: {} })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('denied: ***');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join('\n')).not.toContain(TOKEN);
    expect(`${error.message}${error.stack}`).not.toContain(TOKEN);
  });

  it("keeps two tenants' collections apart: 128-bit names, and a record that must name its key (W37)", async () => {
    connector = make();
    await connector.connect();
    const a = namespaceOf(AccessCandidate.team('team-a'), 'shared');
    const b = namespaceOf(AccessCandidate.team('team-b'), 'shared');
    const names = [collectionOf('sre', a.key), collectionOf('sre', b.key)];
    expect(names[0]).not.toBe(names[1]);
    for (const name of names) expect(name).toMatch(/^sre_[0-9a-f]{16}_[0-9a-f]{32}$/);
    await connector.createNamespace(a, namespaceRecordOf(a));
    await connector.createNamespace(b, namespaceRecordOf(b));
    const stored = await connector.upsertDatasource(a, input('d', 'team a notes'));
    expect(await connector.readDatasource(b, 'd')).toBeUndefined();
    expect(
      await connector.searchVectors(b, stored!.vectorInfo![0].values, { topK: 10, includeMetadata: false, filter: {} }),
    ).toEqual([]);
    expect([...milvus.collections.keys()].sort()).toEqual([...names].sort());
    expect((await connector.listNamespaceRecords(AccessCandidate.team('team-b'))).map((r) => r.namespace)).toEqual([
      b.key,
    ]);
  });

  it('boots by name through VectorDBModule (SDK loaded on use) and serves the policy over it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        fakeAccountModule({ alice: 'team-a' }),
        VectorDBModule.forRoot({
          connector: 'Milvus',
          settings: {
            credentials: { address: milvus.address, user: 'admin', password: PASSWORD },
            embeddings: {
              model: 'text-embedding-3-small',
              dimensions: 32,
              baseURL: openai.baseURL,
              credentials: { apiKey: 'sk-embed' },
            },
          },
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const db = moduleRef.get(VectorDBService);
      await db.team('team-a').createNamespace('kb');
      await db.team('team-a').createDatasource('kb', { id: 'd', text: 'team knowledge', metadata: { lang: 'en' } });
      const hits = await db.team('team-a').search('kb', 'team knowledge', { topK: 1, filter: { lang: 'en' } });
      expect(hits).toHaveLength(1);
      expect(await db.team('team-a').search('kb', 'team knowledge', { filter: { lang: 'de' } })).toEqual([]);
    } finally {
      await moduleRef.close();
    }
  });

  it('refuses to boot with bad settings, each problem named, no secret in the message', async () => {
    const error = await Test.createTestingModule({
      imports: [
        fakeAccountModule({}),
        VectorDBModule.forRoot({
          connector: 'Milvus',
          settings: { credentials: { address: '', password: PASSWORD }, chunkSize: 0 } as never,
        }),
      ],
    })
      .compile()
      .then(
        (moduleRef) => moduleRef.close().then(() => new Error('the module booted')),
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    const message = (error as Error).message;
    expect(message).toContain('VectorDB(Milvus).settings.credentials.address: should not be empty');
    expect(message).toContain('VectorDB(Milvus).settings.credentials.user: must be a string');
    expect(message).toContain('VectorDB(Milvus).settings.chunkSize: must not be less than 1');
    expect(message).not.toContain(PASSWORD);
  });
});
