import { startOpenAIPeer, type OpenAIPeer } from '../../../../../test/peers/openai';
import { createConnectorContext } from '../../core/backend';
import { SreUnavailableError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { describeVectorDBBackend } from '../../testing/vectordb.contract';
import { RAMVecConnector, RAMVecSettings } from './ramvec.connector';
import { VectorRows } from './ramvec-rows';
import { namespaceOf, namespaceRecordOf, teamVault } from './vector-connector.testkit';

const TEAM_KEYS: Record<string, string> = { 'team-a': 'sk-team-a', 'team-b': 'sk-team-b', 'team-z': '' };
const TEAM_OF: Record<string, string> = { alice: 'team-a', anna: 'team-a', bob: 'team-b' };
/** Each team's vault holds its own `openai` key (users read their team's); anyone else has one of its own. */
const vault = teamVault(TEAM_KEYS, TEAM_OF);

let peer: OpenAIPeer;
beforeAll(async () => {
  peer = await startOpenAIPeer({ apiKeys: ['sk-team-a', 'sk-team-b', 'sk-anyone-else'] });
});
afterAll(() => peer?.stop());

const make = (embeddings: Record<string, unknown> = {}, settings: Partial<RAMVecSettings> = {}) =>
  new RAMVecConnector(
    Object.assign(new RAMVecSettings(), settings, {
      embeddings: {
        provider: 'OpenAI',
        model: 'text-embedding-3-small',
        dimensions: 64,
        baseURL: peer.baseURL,
        credentials: 'vault',
        ...embeddings,
      },
    }),
    createConnectorContext({ subsystem: 'VectorDB', connector: 'RAMVec', deps: { vault } }),
  );

describeVectorDBBackend('RAMVec (OpenAI embeddings over the SDK)', () => make(), { timeout: 20_000 });
// every search through the worker pool, on int8 rows with the exact rescore
describeVectorDBBackend(
  'RAMVec (worker pool, int8)',
  () => make({}, { workers: 2, workerThreshold: 0, quantization: 'int8' }),
  { timeout: 20_000 },
);

describe('RAMVec', () => {
  const namespace = namespaceOf;
  const record = namespaceRecordOf;

  it("validates the seed's settings: OpenAI, Google and local in any case, and nothing else", () => {
    const seed = validateSettings(
      RAMVecSettings,
      { embeddings: { provider: 'openai', model: 'text-embedding-3-small' } },
      'VectorDB(RAMVec).settings',
    );
    expect(seed.problems).toEqual([]);
    for (const provider of ['GoogleAI', 'google', 'local', 'LOCAL'])
      expect(validateSettings(RAMVecSettings, { embeddings: { provider } }, 'x').problems).toEqual([]);
    expect(validateSettings(RAMVecSettings, { embeddings: { provider: 'Cohere' } }, 'x').problems).toEqual([
      "x.embeddings.provider: must be 'OpenAI', 'Google' (or 'GoogleAI') or 'local' (the name is not case-sensitive)",
    ]);
    const bad = validateSettings(RAMVecSettings, { embeddings: { dimensions: 0, credentials: 'env' } }, 'x');
    expect(bad.problems.sort()).toEqual([
      "x.embeddings.credentials: must be 'internal', 'vault', 'none', { apiKey }, or a list of them",
      'x.embeddings.dimensions: must not be less than 1',
    ]);
    expect(validateSettings(RAMVecSettings, { workerReadyMs: 0.5 }, 'x').problems).toEqual([]);
    expect(validateSettings(RAMVecSettings, { workerReadyMs: -1 }, 'x').problems).toEqual([
      'x.workerReadyMs: must not be less than 0',
    ]);
  });

  it("embeds each team's texts with that team's own key, never another's (W38)", async () => {
    const vectors = make();
    for (const team of ['team-a', 'team-b']) {
      const ns = namespace(AccessCandidate.team(team));
      await vectors.createNamespace(ns, record(ns));
      await vectors.upsertDatasource(ns, {
        id: 'd',
        label: 'l',
        text: `notes of ${team}`,
        metadata: {},
        returnFullVectorInfo: false,
        acl: new ACL(),
      });
    }
    const keys = peer.requests.slice(-2).map((request) => request.apiKey);
    expect(keys).toEqual(['sk-team-a', 'sk-team-b']);
  });

  it('searches through its workers, fails a dropped namespace clearly, and ends its workers on disconnect', async () => {
    const vectors = make({}, { workers: 2, workerThreshold: 0 });
    const ns = namespace(AccessCandidate.team('team-a'), 'pool');
    await vectors.createNamespace(ns, record(ns));
    await vectors.upsertDatasource(ns, {
      id: 'd',
      label: 'l',
      text: 'worker threads scan the rows',
      metadata: {},
      returnFullVectorInfo: false,
      acl: new ACL(),
    });
    const options = { topK: 3, includeMetadata: false, filter: {} };
    const found = await vectors.searchVectors(
      ns,
      Array.from({ length: 64 }, (_, i) => i % 3),
      options,
    );
    expect(found).toHaveLength(1);
    const slots = (vectors as unknown as { pool: { slots: unknown[] } }).pool.slots;
    expect(slots.filter(Boolean)).toHaveLength(1);
    await expect(vectors.searchVectors(ns, new Array(3).fill(1), options)).rejects.toThrow('a vector of 3 dimensions');
    await vectors.disconnect();
    expect(slots.filter(Boolean)).toHaveLength(0);
    expect(process.getActiveResourcesInfo().filter((name) => /Worker|MessagePort/.test(name))).toEqual([]);
  });

  it('without a key for the owner, fails clearly and stores nothing', async () => {
    const vectors = make();
    const stranger = namespace(AccessCandidate.team('team-z'));
    await vectors.createNamespace(stranger, record(stranger));
    const error = await vectors
      .upsertDatasource(stranger, {
        id: 'd',
        label: 'l',
        text: 'text',
        metadata: {},
        returnFullVectorInfo: false,
        acl: new ACL(),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreUnavailableError);
    expect((error as Error).message).toContain("vault key 'openai'");
    expect(await vectors.listDatasourceRecords(stranger)).toEqual([]);
    expect(vectors.size).toBe(0);
  });

  it('retries a 429 from the embeddings API and succeeds', async () => {
    const vectors = make({ maxRetries: 2 });
    const ns = namespace(AccessCandidate.team('team-a'), 'retry');
    await vectors.createNamespace(ns, record(ns));
    peer.failNext(1, 429, 0);
    const stored = await vectors.upsertDatasource(ns, {
      id: 'd',
      label: 'l',
      text: 'hello',
      metadata: {},
      returnFullVectorInfo: false,
      acl: new ACL(),
    });
    expect(stored?.vectorIds).toHaveLength(1);
  });
});

describe('VectorRows (the exact scan)', () => {
  it('finds the same top-k as a double-precision brute force, and stays packed after removals', async () => {
    const dimensions = 32;
    const rows = new VectorRows<number>(dimensions);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const all: number[][] = [];
    for (let i = 0; i < 500; i++) {
      const v = Array.from({ length: dimensions }, random);
      all.push(v);
      rows.add(v, i);
    }
    expect(rows.removeWhere((id) => id % 3 === 0)).toBe(167);
    expect(rows.size).toBe(333);
    const query = Array.from({ length: dimensions }, random);
    const cosine = (a: number[], b: number[]) => {
      let dot = 0,
        na = 0,
        nb = 0;
      for (let i = 0; i < a.length; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
      }
      return dot / Math.sqrt(na * nb);
    };
    const expected = all
      .map((v, id) => ({ id, score: cosine(v, query) }))
      .filter(({ id }) => id % 3 !== 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    const got = (await rows.nearest(query, 10)).map((hit) => ({ id: hit.payload, score: hit.score }));
    expect(got.map((hit) => hit.id)).toEqual(expected.map((hit) => hit.id));
    got.forEach((hit, i) => expect(hit.score).toBeCloseTo(expected[i].score, 5));
  });
});
