import { Test } from '@nestjs/testing';
import { startOpenAIPeer, type OpenAIPeer } from '../../../../../test/peers/openai';
import { startPineconePeer, type PineconePeer } from '../../../../../test/peers/pinecone';
import { createConnectorContext } from '../../core/backend';
import { SreAuthError, SreConfigError } from '../../core/errors';
import { collectSecretValues } from '../../core/secrets';
import { validateSettings } from '../../core/settings';
import { NKVModule } from '../../nkv/nkv.module';
import { NKVService } from '../../nkv/nkv.service';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { OWN_TEAM_ONLY } from '../../security/team-resolver';
import { MemoryNKVBackend } from '../../testing/backends/memory-nkv.backend';
import { describeVectorDBBackend } from '../../testing/vectordb.contract';
import { fakeAccountModule } from '../../testing/subsystem-module.testkit';
import { VECTORDB_CONNECTORS, VectorDBModule } from '../vectordb.module';
import { VectorDBService } from '../vectordb.service';
import type { DatasourceInput } from '../vectordb.backend';
import { PineconeConnector, PineconeSettings } from './pinecone.connector';
import { pineconeNamespaceOf } from './pinecone-records';
import { namespaceOf, namespaceRecordOf, teamVault } from './vector-connector.testkit';

const PINECONE_KEY = 'pcsk-test-key-0001';
const DIMENSIONS = 64;
const TEAM_KEYS: Record<string, string> = { 'team-a': 'sk-team-a', 'team-b': 'sk-team-b' };
const TEAM_OF: Record<string, string> = { alice: 'team-a', anna: 'team-a', bob: 'team-b' };
const vault = teamVault(TEAM_KEYS, TEAM_OF);

let openai: OpenAIPeer;
let pinecone: PineconePeer;
let indexes = 0;
beforeAll(async () => {
  openai = await startOpenAIPeer({ apiKeys: ['sk-team-a', 'sk-team-b', 'sk-anyone-else'] });
  pinecone = await startPineconePeer({ apiKeys: [PINECONE_KEY] });
});
afterAll(async () => {
  await openai?.stop();
  await pinecone?.stop();
});

/** A connector over a new, empty index of the peer (and a new NKV), not yet connected. */
function make(settings: Partial<PineconeSettings> = {}) {
  const indexName = `idx-${++indexes}`;
  pinecone.addIndex(indexName, DIMENSIONS);
  const nkv = new NKVService(
    new MemoryNKVBackend(),
    createConnectorContext({ subsystem: 'NKV', connector: 'MemoryNKV' }),
    { account: OWN_TEAM_ONLY },
  );
  const full = Object.assign(new PineconeSettings(), {
    apiKey: PINECONE_KEY,
    indexName,
    controllerHostUrl: pinecone.origin,
    retryDelayMs: 1,
    embeddings: {
      provider: 'OpenAI',
      model: 'text-embedding-3-small',
      dimensions: DIMENSIONS,
      baseURL: openai.baseURL,
      credentials: 'vault',
      maxRetries: 0,
    },
    ...settings,
  });
  const connector = new PineconeConnector(
    full,
    createConnectorContext({
      subsystem: 'VectorDB',
      connector: 'Pinecone',
      deps: { nkv, vault },
      secrets: collectSecretValues(full),
    }),
  );
  return { connector, indexName };
}

describeVectorDBBackend('Pinecone (SDK over a wire peer, OpenAI embeddings)', () => make().connector, {
  timeout: 30_000,
});

describe('Pinecone', () => {
  const source = (id: string, text: string, more: Partial<DatasourceInput> = {}): DatasourceInput => ({
    id,
    label: `label of ${id}`,
    text,
    metadata: {},
    returnFullVectorInfo: false,
    acl: new ACL(),
    ...more,
  });
  const connected = async (settings: Partial<PineconeSettings> = {}) => {
    const made = make(settings);
    await made.connector.connect();
    return made;
  };
  const team = AccessCandidate.team('team-a');
  const requestsTo = (index: string, path: string) =>
    pinecone.requests.filter((request) => request.index === index && request.path === path);

  it('is the registry entry, loaded lazily', () => {
    expect(VECTORDB_CONNECTORS.get('Pinecone')).toBe(PineconeConnector);
  });

  it('boots as a registered name in VectorDBModule over the NKV module, and serves through the service', async () => {
    const indexName = `idx-${++indexes}`;
    pinecone.addIndex(indexName, DIMENSIONS);
    const moduleRef = await Test.createTestingModule({
      imports: [
        fakeAccountModule(TEAM_OF),
        NKVModule.forRoot({ connector: MemoryNKVBackend, isGlobal: true }),
        VectorDBModule.forRoot({
          connector: 'Pinecone',
          settings: {
            apiKey: PINECONE_KEY,
            indexName,
            controllerHostUrl: pinecone.origin,
            embeddings: {
              model: 'text-embedding-3-small',
              dimensions: DIMENSIONS,
              baseURL: openai.baseURL,
              credentials: { apiKey: 'sk-anyone-else' },
            },
          },
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const alice = moduleRef.get(VectorDBService).user('alice');
      await alice.createNamespace('booted');
      await alice.createDatasource('booted', { id: 'd', text: 'hello from the module' });
      expect((await alice.search('booted', 'hello', { topK: 1 }))[0].text).toBe('hello from the module');
    } finally {
      await moduleRef.close();
    }
  });

  it('validates its settings with messages naming the field and never a secret value', () => {
    const label = 'VectorDB(Pinecone).settings';
    expect(validateSettings(PineconeSettings, { indexName: 'docs', apiKey: 'pcsk-x' }, label).problems).toEqual([]);
    const secret = 'pcsk-very-secret-value';
    const bad = validateSettings(
      PineconeSettings,
      {
        apiKey: 42,
        indexName: 'Not An Index',
        controllerHostUrl: `localhost:5080/${secret}`,
        upsertBatchSize: 5000,
        embeddings: { dimensions: 0 },
      },
      label,
    );
    expect([...bad.problems].sort()).toEqual([
      `${label}.apiKey: must be a string`,
      `${label}.controllerHostUrl: must be a URL address`,
      `${label}.embeddings.dimensions: must not be less than 1`,
      `${label}.indexName: must be 1-45 of a-z 0-9 - (a Pinecone index name)`,
      `${label}.upsertBatchSize: must not be greater than 1000`,
    ]);
    expect(bad.problems.join('\n')).not.toContain(secret);
    expect(validateSettings(PineconeSettings, {}, label).problems).toContain(
      `${label}.indexName: must be 1-45 of a-z 0-9 - (a Pinecone index name)`,
    );
  });

  it('refuses to connect without an API key, or to an index of other dimensions, in a sentence', async () => {
    const saved = process.env.PINECONE_API_KEY;
    delete process.env.PINECONE_API_KEY;
    try {
      const error = await make({ apiKey: undefined })
        .connector.connect()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreConfigError);
      expect((error as Error).message).toContain('VectorDB(Pinecone).settings.apiKey');
    } finally {
      if (saved !== undefined) process.env.PINECONE_API_KEY = saved;
    }
    pinecone.addIndex('wide', DIMENSIONS * 2);
    const wide = await make({ indexName: 'wide' })
      .connector.connect()
      .catch((e: unknown) => e);
    expect((wide as Error).message).toContain(`holds ${DIMENSIONS * 2}-dimensional vectors`);
    const missing = await make({ indexName: 'nowhere' })
      .connector.connect()
      .catch((e: unknown) => e);
    expect((missing as Error).message).toContain("no index 'nowhere'");
  });

  it('creates a missing index when asked to, through the control plane', async () => {
    const { connector } = make({ indexName: 'created-here', createIndexIfMissing: true });
    await connector.connect();
    const ns = namespaceOf(team);
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    expect((await connector.upsertDatasource(ns, source('d', 'hello')))?.vectorIds).toHaveLength(1);
    expect(pinecone.vectors('created-here', pineconeNamespaceOf(ns.key))).toHaveLength(1);
  });

  it('maps a refused API key (401) to SreAuthError, the key never in the message', async () => {
    const error = await make({ apiKey: 'pcsk-wrong-key-9999' })
      .connector.connect()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreAuthError);
    expect(error).toMatchObject({ subsystem: 'VectorDB', connector: 'Pinecone' });
    expect((error as Error).message).not.toContain('pcsk-wrong-key-9999');
  });

  it('retries a 429 (and a 503) with backoff and succeeds', async () => {
    const { connector, indexName } = await connected();
    const ns = namespaceOf(team, 'retry');
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    const before = requestsTo(indexName, '/vectors/upsert').length;
    pinecone.failNext(1, 429, 0);
    pinecone.failNext(1, 503);
    expect((await connector.upsertDatasource(ns, source('d', 'hello world')))?.vectorIds).toHaveLength(1);
    expect(requestsTo(indexName, '/vectors/upsert').length - before).toBe(3);
    expect(pinecone.vectors(indexName, pineconeNamespaceOf(ns.key))).toHaveLength(1);
  });

  it('splits a large datasource into requests within the count and byte limits', async () => {
    const { connector, indexName } = await connected({ upsertBatchSize: 1000 });
    const ns = namespaceOf(team, 'large');
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    // 300 small chunks, each vector carrying ~8 KB of datasource metadata: 1000 a request by count, ~2.5 MB in all
    const text = Array.from({ length: 300 }, (_, i) => `paragraph number ${i}`).join('\n\n');
    const metadata = { notes: 'lorem ipsum dolor sit amet '.repeat(300) };
    const stored = await connector.upsertDatasource(
      ns,
      source('big', text, { chunkSize: 25, chunkOverlap: 0, metadata }),
    );
    expect(stored!.vectorIds).toHaveLength(300);
    const upserts = requestsTo(indexName, '/vectors/upsert');
    expect(upserts.length).toBeGreaterThan(1);
    for (const request of upserts) expect(request.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(pinecone.vectors(indexName, pineconeNamespaceOf(ns.key))).toHaveLength(300);
    const small = await connected({ upsertBatchSize: 7 });
    await small.connector.createNamespace(ns, namespaceRecordOf(ns));
    await small.connector.upsertDatasource(ns, source('many', 'word '.repeat(200), { chunkSize: 20, chunkOverlap: 0 }));
    const counts = requestsTo(small.indexName, '/vectors/upsert').map(
      (request) => (request.body.vectors as unknown[]).length,
    );
    expect(Math.max(...counts)).toBe(7);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(
      pinecone.vectors(small.indexName, pineconeNamespaceOf(ns.key)).length,
    );
  });

  it('deletes by filter for real: replaced, dropped and half-written datasources leave no vectors', async () => {
    const { connector, indexName } = await connected({ upsertBatchSize: 2, upsertConcurrency: 1, maxRetries: 0 });
    const ns = namespaceOf(team, 'filters');
    const stored = () => pinecone.vectors(indexName, pineconeNamespaceOf(ns.key));
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    const text = 'alpha beta gamma delta epsilon zeta eta theta';
    await connector.upsertDatasource(ns, source('d', text, { chunkSize: 12, chunkOverlap: 0 }));
    await connector.upsertDatasource(ns, source('keep', 'other words'));
    const second = await connector.upsertDatasource(ns, source('d', 'just one chunk'));
    expect(
      stored()
        .filter((v) => v.metadata?.datasourceId === 'd')
        .map((v) => v.id),
    ).toEqual(second!.vectorIds);
    // the second upsert request fails: the first batch of this write must go again
    pinecone.failNext(1, 400, undefined, 1);
    await expect(
      connector.upsertDatasource(ns, source('cut', text, { chunkSize: 12, chunkOverlap: 0 })),
    ).rejects.toThrow();
    expect(stored().filter((v) => v.metadata?.datasourceId === 'cut')).toEqual([]);
    expect(await connector.readDatasource(ns, 'cut')).toBeUndefined();
    const filterDeletes = requestsTo(indexName, '/vectors/delete').filter((r) => r.body.filter !== undefined);
    expect(filterDeletes.length).toBeGreaterThanOrEqual(3);
    expect(await connector.dropDatasource(ns, 'd')).toBe(true);
    expect(stored().map((v) => v.metadata?.datasourceId)).toEqual(['keep']);
  });

  it('filters searches on the flattened user metadata, by JSON type', async () => {
    const { connector } = await connected();
    const ns = namespaceOf(team, 'meta');
    await connector.createNamespace(ns, namespaceRecordOf(ns));
    const sources: [string, Record<string, unknown>][] = [
      ['a', { kind: 'faq', year: 2024, public: true }],
      ['b', { kind: 'doc', year: '2024', public: false }],
      ['c', { kind: { nested: 'faq' }, year: 2025 }],
    ];
    for (const [id, metadata] of sources) await connector.upsertDatasource(ns, source(id, `text ${id}`, { metadata }));
    const search = async (filter: Record<string, unknown>) => {
      const results = await connector.searchVectors(ns, 'text', {
        topK: 10,
        includeMetadata: true,
        filter: filter as never,
      });
      return results!.map((r) => (r.metadata?.kind === 'faq' ? 'a' : r.metadata?.kind === 'doc' ? 'b' : 'c')).sort();
    };
    expect(await search({})).toEqual(['a', 'b', 'c']);
    expect(await search({ kind: 'faq' })).toEqual(['a']);
    expect(await search({ year: 2024 })).toEqual(['a']);
    expect(await search({ year: { $in: [2024, '2024'] } })).toEqual(['a', 'b']);
    expect(await search({ public: { $in: [false, 'x'] } })).toEqual(['b']);
    expect(await search({ public: { $in: [true, false] }, kind: { $in: ['doc'] } })).toEqual(['b']);
    expect(await search({ missing: 'x' })).toEqual([]);
  });

  it("embeds each team's texts with that team's own key from the vault, never another's (W38)", async () => {
    const { connector } = await connected();
    for (const id of ['team-a', 'team-b', 'team-a']) {
      const ns = namespaceOf(AccessCandidate.team(id), 'keys');
      await connector.createNamespace(ns, namespaceRecordOf(ns));
      await connector.upsertDatasource(ns, source('d', `notes of ${id}`));
      await connector.searchVectors(ns, 'notes', { topK: 1, includeMetadata: false, filter: {} });
    }
    const bob = namespaceOf(AccessCandidate.user('bob'), 'keys');
    await connector.createNamespace(bob, namespaceRecordOf(bob));
    await connector.upsertDatasource(bob, source('d', 'notes of bob'));
    const keys = openai.requests.slice(-7).map((request) => request.apiKey);
    expect(keys).toEqual(['sk-team-a', 'sk-team-a', 'sk-team-b', 'sk-team-b', 'sk-team-a', 'sk-team-a', 'sk-team-b']);
    // the Pinecone key is the platform's, whoever asks
    expect(new Set(pinecone.requests.map((request) => request.apiKey))).toContain(PINECONE_KEY);
  });

  it('keeps one Pinecone namespace per storage name, ASCII and collision-free', () => {
    const names = ['u_alice_docs', 'u_alice_docs ', 'u_alice_名前', 'u_alice_' + 'x'.repeat(200)];
    const mapped = names.map(pineconeNamespaceOf);
    expect(new Set(mapped).size).toBe(names.length);
    for (const name of mapped) expect(name).toMatch(/^[A-Za-z0-9_.-]{1,81}$/);
    expect(pineconeNamespaceOf('u_alice_docs')).toMatch(/^u_alice_docs\.[0-9a-f]{32}$/);
  });
});
