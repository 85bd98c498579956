import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import {
  VECTORDB_OPERATIONS,
  type DatasourceInput,
  type NamespaceRecord,
  type StoredDatasource,
  type VectorDBBackend,
  type VectorMetadataFilter,
  type VectorNamespace,
} from '../vectordb/vectordb.backend';
import { cosineSimilarity as cosine } from '../vectordb/embeddings/similarity';
import { VectorDBService } from '../vectordb/vectordb.service';
import { teamResolver, timedTest, useFreshBackend, useRecordingView } from './contract-harness';

export interface VectorDBBackendSuiteOptions {
  /** Per-test timeout in milliseconds, for backends over the network or with a real embedder (default: Jest's). */
  timeout?: number;
}

const RESOLVER = teamResolver({ alice: 'team-a', anna: 'team-a', bob: 'team-b' });

const SECRET = 'vectordb-contract-secret-4711';

/** Texts far apart from each other, each short enough to be one chunk. */
const TEXTS = [
  'apples bananas cherries',
  'quantum physics lecture notes',
  'zebra crossing at midnight',
  'knitting woollen mittens',
  'volcanic eruption overview',
  'jazz saxophone improvisation',
  'medieval castle fortifications',
  'tropical fish aquarium',
  'hydrogen fuel cells',
  'origami paper cranes',
  'gothic cathedral windows',
  'yoga breathing exercise',
];

const ALICE = AccessCandidate.user('alice');

function namespaceOf(owner: AccessCandidate, name: string): VectorNamespace {
  const initial = { user: 'u', agent: 'a', team: 't', public: 'p' }[owner.role];
  return { name, key: `${initial}_${owner.id}_${name}`, owner };
}

function recordOf(namespace: VectorNamespace, metadata: Record<string, unknown> = {}, acl?: ACL): NamespaceRecord {
  return {
    namespace: namespace.key,
    displayName: namespace.name,
    candidateId: namespace.owner.id,
    candidateRole: namespace.owner.role,
    metadata,
    acl: acl ?? new ACL().grant(namespace.owner, 'owner'),
  };
}

function input(id: string, text: string, more: Partial<DatasourceInput> = {}): DatasourceInput {
  return {
    id,
    label: `label of ${id}`,
    text,
    chunkSize: 1000,
    metadata: {},
    returnFullVectorInfo: true,
    acl: new ACL().grant(ALICE, 'owner'),
    ...more,
  };
}

const sorted = (values: string[]): string[] => [...values].sort();

/**
 * The contract of a VectorDB backend, then the VectorDB policy over it (through the real
 * `VectorDBService`): run it in your connector's spec,
 * `describeVectorDBBackend('MyVectorDB', () => new MyVectorDBConnector(settings, ctx))`. Each test
 * gets a fresh backend, connected, and disconnects it after; a persistent backend must start empty.
 * The embedder must rank a text's own chunk first when searching for that exact text.
 */
export function describeVectorDBBackend(
  label: string,
  makeBackend: () => VectorDBBackend | Promise<VectorDBBackend>,
  options: VectorDBBackendSuiteOptions = {},
): void {
  // every test of the suite takes the caller's timeout (embedding over the network is slow)
  const test = timedTest(options.timeout);

  describe(`${label}: VectorDB backend contract`, () => {
    const { backend } = useFreshBackend(makeBackend);
    /** `view()`: the backend as a service sees it; `calls`: what the services of this test called, in order. */
    const { calls, view } = useRecordingView(backend, VECTORDB_OPERATIONS);

    const serve = (over: VectorDBBackend = view()): VectorDBService =>
      new VectorDBService(
        over,
        createConnectorContext({ subsystem: 'VectorDB', connector: label, secrets: [SECRET] }),
        { account: RESOLVER },
      );

    const created = async (name: string, owner = ALICE): Promise<VectorNamespace> => {
      const namespace = namespaceOf(owner, name);
      expect(await backend().createNamespace(namespace, recordOf(namespace))).toBe(true);
      return namespace;
    };

    const stored = async (
      namespace: VectorNamespace,
      id: string,
      text: string,
      more: Partial<DatasourceInput> = {},
    ) => {
      const result = await backend().upsertDatasource(namespace, input(id, text, more));
      expect(result).toBeDefined();
      return result as StoredDatasource;
    };

    /** Every vector id a search can reach in the namespace. */
    const reachable = async (namespace: VectorNamespace, probe: number[]): Promise<string[]> => {
      const results = await backend().searchVectors(namespace, probe, {
        topK: 10_000,
        includeMetadata: false,
        filter: {},
      });
      return sorted((results ?? []).map((result) => result.id));
    };

    describe('operations', () => {
      test('answers "nothing" for namespaces and datasources never created, and creates nothing', async () => {
        const ghost = namespaceOf(ALICE, 'ghost');
        expect(await backend().readNamespace(ghost.key)).toBeUndefined();
        expect(await backend().listNamespaceRecords(ALICE)).toEqual([]);
        await expect(backend().dropNamespace(ghost)).resolves.toBeUndefined();
        expect(
          await backend().searchVectors(ghost, 'anything', { topK: 5, includeMetadata: false, filter: {} }),
        ).toBeUndefined();
        expect(await backend().upsertDatasource(ghost, input('d', 'some text'))).toBeUndefined();
        expect(await backend().readDatasource(ghost, 'd')).toBeUndefined();
        expect(await backend().listDatasourceRecords(ghost)).toEqual([]);
        expect(await backend().dropDatasource(ghost, 'd')).toBe(false);
        expect(await backend().readNamespace(ghost.key)).toBeUndefined();
        expect(await backend().listNamespaceRecords(ALICE)).toEqual([]);
      });

      test('creates a namespace once (create-if-absent) and keeps its record and ACL', async () => {
        const namespace = namespaceOf(ALICE, 'docs');
        const acl = new ACL().grant(ALICE, 'owner').addAccess('team', 'team-a', 'read');
        expect(await backend().createNamespace(namespace, recordOf(namespace, { purpose: 'docs', n: 1 }, acl))).toBe(
          true,
        );
        expect(await backend().createNamespace(namespace, recordOf(namespace, { purpose: 'other' }))).toBe(false);
        const record = await backend().readNamespace(namespace.key);
        expect(record).toMatchObject({
          namespace: 'u_alice_docs',
          displayName: 'docs',
          candidateId: 'alice',
          candidateRole: 'user',
          metadata: { purpose: 'docs', n: 1 },
        });
        expect(record!.acl.serialize()).toBe(acl.serialize());
        expect((await backend().listNamespaceRecords(ALICE)).map((r) => r.namespace)).toEqual(['u_alice_docs']);
      });

      test('lists the namespaces of one owner only: same role and same id', async () => {
        const owners = [
          ALICE,
          AccessCandidate.agent('alice'),
          AccessCandidate.user('Alice'),
          AccessCandidate.team('alice'),
        ];
        for (const owner of owners) await created('docs', owner);
        await created('more', ALICE);
        expect(sorted((await backend().listNamespaceRecords(ALICE)).map((r) => r.namespace))).toEqual([
          'u_alice_docs',
          'u_alice_more',
        ]);
        for (const owner of owners.slice(1)) {
          const records = await backend().listNamespaceRecords(owner);
          expect(records.map((r) => [r.candidateRole, r.candidateId])).toEqual([[owner.role, owner.id]]);
        }
        expect(await backend().listNamespaceRecords(AccessCandidate.user('bob'))).toEqual([]);
      });

      test('stores, reads, lists and deletes a datasource', async () => {
        const namespace = await created('docs');
        const metadata = { kind: 'fruit', nested: { list: [1, null, true] } };
        const ds = await stored(namespace, 'ds-1', TEXTS[0], { metadata, label: 'Fruit' });
        expect(ds).toMatchObject({
          id: 'ds-1',
          namespaceId: namespace.key,
          name: 'Fruit',
          candidateId: 'alice',
          candidateRole: 'user',
        });
        expect(JSON.parse(ds.metadata!)).toEqual(metadata);
        expect(ds.vectorIds.length).toBeGreaterThanOrEqual(1);
        expect(sorted(ds.vectorInfo!.map((v) => v.id))).toEqual(sorted(ds.vectorIds));
        const dimensions = ds.vectorInfo![0].values.length;
        expect(dimensions).toBeGreaterThan(0);
        for (const vector of ds.vectorInfo!) {
          expect(vector.values).toHaveLength(dimensions);
          expect(typeof vector.text).toBe('string');
        }
        const read = await backend().readDatasource(namespace, 'ds-1');
        expect(read).toMatchObject({ id: 'ds-1', namespaceId: namespace.key, name: 'Fruit' });
        expect(sorted(read!.vectorIds)).toEqual(sorted(ds.vectorIds));
        expect((await backend().listDatasourceRecords(namespace)).map((d) => d.id)).toEqual(['ds-1']);
        expect(await backend().dropDatasource(namespace, 'ds-1')).toBe(true);
        expect(await backend().readDatasource(namespace, 'ds-1')).toBeUndefined();
        expect(await backend().listDatasourceRecords(namespace)).toEqual([]);
        expect(await reachable(namespace, ds.vectorInfo![0].values)).toEqual([]);
        expect(await backend().dropDatasource(namespace, 'ds-1')).toBe(false);
      });

      test('replaces a datasource with the same id whole: no stale vectors (W33)', async () => {
        const namespace = await created('docs');
        const first = await stored(namespace, 'same', TEXTS.join(' '), { chunkSize: 30, chunkOverlap: 0 });
        expect(first.vectorIds.length).toBeGreaterThan(1);
        const second = await stored(namespace, 'same', TEXTS[3], { label: 'Second' });
        expect(await reachable(namespace, second.vectorInfo![0].values)).toEqual(sorted(second.vectorIds));
        const read = await backend().readDatasource(namespace, 'same');
        expect(read).toMatchObject({ name: 'Second', text: TEXTS[3] });
        expect(sorted(read!.vectorIds)).toEqual(sorted(second.vectorIds));
        expect(await backend().listDatasourceRecords(namespace)).toHaveLength(1);
      });

      test('deletes one datasource and only its vectors, never one whose id it prefixes', async () => {
        const namespace = await created('docs');
        const ids = ['ds', 'ds1', 'ds_1', 'ds.1', 'ds:1', 'ds-1', 'DS'];
        const all = new Map<string, StoredDatasource>();
        for (const [i, id] of ids.entries()) all.set(id, await stored(namespace, id, TEXTS[i]));
        const probe = all.get('ds')!.vectorInfo![0].values;
        expect(await backend().dropDatasource(namespace, 'ds')).toBe(true);
        const kept = ids.slice(1).flatMap((id) => all.get(id)!.vectorIds);
        expect(await reachable(namespace, probe)).toEqual(sorted(kept));
        expect(sorted((await backend().listDatasourceRecords(namespace)).map((d) => d.id))).toEqual(
          sorted(ids.slice(1)),
        );
        for (const id of ids.slice(1)) expect((await backend().readDatasource(namespace, id))?.id).toBe(id);
      });

      test('searches by vector and by text: the exact match scores highest', async () => {
        const namespace = await created('docs');
        const all = await Promise.all(TEXTS.slice(0, 6).map((text, i) => stored(namespace, `d${i}`, text)));
        const dimensions = all[0].vectorInfo![0].values.length;
        const best = (results: { id: string; score?: number }[]) =>
          results.reduce((top, r) => ((r.score ?? -Infinity) > (top.score ?? -Infinity) ? r : top));
        const byVector = await backend().searchVectors(namespace, all[2].vectorInfo![0].values, {
          topK: 3,
          includeMetadata: false,
          filter: {},
        });
        expect(byVector!.length).toBeGreaterThanOrEqual(3);
        expect(best(byVector!).id).toBe(all[2].vectorInfo![0].id);
        for (const result of byVector!) {
          expect(typeof result.score).toBe('number');
          expect(typeof result.text).toBe('string');
          expect(result.values).toHaveLength(dimensions);
        }
        const byText = await backend().searchVectors(namespace, TEXTS[4], {
          topK: 1,
          includeMetadata: false,
          filter: {},
        });
        expect(all[4].vectorIds).toContain(best(byText!).id);
        const zero = await backend().searchVectors(namespace, new Array<number>(dimensions).fill(0), {
          topK: 2,
          includeMetadata: false,
          filter: {},
        });
        expect(zero!.length).toBeGreaterThanOrEqual(2);
      });

      test('returns each vector with its datasource metadata when asked', async () => {
        const namespace = await created('docs');
        const a = await stored(namespace, 'a', TEXTS[0], { metadata: { tag: 'a', html: '<b>"x"</b>' } });
        await stored(namespace, 'b', TEXTS[1]);
        const results = await backend().searchVectors(namespace, a.vectorInfo![0].values, {
          topK: 10,
          includeMetadata: true,
          filter: {},
        });
        expect(results).toHaveLength(2);
        const byId = new Map(results!.map((r) => [r.id, r.metadata]));
        expect(byId.get(a.vectorIds[0])).toEqual({ tag: 'a', html: '<b>"x"</b>' });
        expect([undefined, {}]).toContainEqual(results!.find((r) => r.id !== a.vectorIds[0])!.metadata);
      });

      test('rejects a query vector of the wrong dimension', async () => {
        const namespace = await created('docs');
        const ds = await stored(namespace, 'd', TEXTS[0]);
        const dimensions = ds.vectorInfo![0].values.length;
        for (const length of [dimensions + 1, Math.max(1, dimensions - 1)]) {
          if (length === dimensions) continue;
          await expect(
            backend().searchVectors(namespace, new Array<number>(length).fill(0.5), {
              topK: 1,
              includeMetadata: false,
              filter: {},
            }),
          ).rejects.toBeInstanceOf(SreInvalidInputError);
        }
      });

      test('keeps namespaces apart, even one whose storage name prefixes another', async () => {
        const names = ['doc', 'docs', 'doc_s', 'doc.s'];
        const spaces = await Promise.all(names.map((name) => created(name)));
        const all = await Promise.all(spaces.map((ns, i) => stored(ns, 'same-id', TEXTS[i])));
        const probe = all[0].vectorInfo![0].values;
        for (const [i, ns] of spaces.entries()) expect(await reachable(ns, probe)).toEqual(sorted(all[i].vectorIds));
        await backend().dropNamespace(spaces[0]);
        expect(await backend().readNamespace(spaces[0].key)).toBeUndefined();
        for (const [i, ns] of spaces.entries()) {
          if (i === 0) continue;
          expect((await backend().readNamespace(ns.key))?.namespace).toBe(ns.key);
          expect((await backend().readDatasource(ns, 'same-id'))?.name).toBe('label of same-id');
          expect(await reachable(ns, probe)).toEqual(sorted(all[i].vectorIds));
        }
      });

      test('takes namespace names and metadata with special characters', async () => {
        const names = [
          'docs/2024:q1',
          'ünïcødé',
          'it\'s_"quoted"',
          '<b>html</b>',
          'a.b',
          'a_b',
          'a-b',
          '*',
          '..',
          '名前',
          'x'.repeat(200),
        ];
        const metadata = {
          html: '<script>alert(1)</script>',
          quote: '\'"',
          nested: { unicode: 'ключ 🔑' },
          list: [1, null, true],
        };
        const spaces: VectorNamespace[] = [];
        for (const name of names) {
          const namespace = namespaceOf(ALICE, name);
          expect(await backend().createNamespace(namespace, recordOf(namespace, metadata))).toBe(true);
          spaces.push(namespace);
        }
        expect(sorted((await backend().listNamespaceRecords(ALICE)).map((r) => r.namespace))).toEqual(
          sorted(spaces.map((ns) => ns.key)),
        );
        for (const [i, namespace] of spaces.entries()) {
          expect(await backend().readNamespace(namespace.key)).toMatchObject({ displayName: names[i], metadata });
          const ds = await stored(namespace, `d${i}`, TEXTS[i], { metadata });
          expect(await reachable(namespace, ds.vectorInfo![0].values)).toEqual(sorted(ds.vectorIds));
        }
      });

      test('stores a large datasource in many chunks', async () => {
        const namespace = await created('large');
        const text = Array.from({ length: 400 }, (_, i) => `${TEXTS[i % TEXTS.length]} number ${i}.`).join(' ');
        const ds = await stored(namespace, 'big', text, { chunkSize: 500, chunkOverlap: 50 });
        expect(ds.vectorIds.length).toBeGreaterThanOrEqual(text.length / 600);
        expect(ds.vectorInfo!.every((v) => v.text.length <= 500)).toBe(true);
        const results = await backend().searchVectors(namespace, TEXTS[5], {
          topK: 5,
          includeMetadata: false,
          filter: {},
        });
        expect(results!.length).toBeGreaterThanOrEqual(5);
        expect((await backend().readDatasource(namespace, 'big'))?.text).toBe(text);
      });

      test('lets exactly one of concurrent creators win, and loses no concurrent datasource', async () => {
        const namespace = namespaceOf(ALICE, 'race');
        const wins = await Promise.all(
          Array.from({ length: 5 }, (_, i) => backend().createNamespace(namespace, recordOf(namespace, { i }))),
        );
        expect(wins.filter(Boolean)).toHaveLength(1);
        expect((await backend().readNamespace(namespace.key))?.metadata).toEqual({ i: wins.indexOf(true) });
        await Promise.all(TEXTS.slice(0, 8).map((text, i) => stored(namespace, `d${i}`, text)));
        expect(await backend().listDatasourceRecords(namespace)).toHaveLength(8);
        const versions = await Promise.all(TEXTS.slice(8).map((text) => stored(namespace, 'contended', text)));
        const read = await backend().readDatasource(namespace, 'contended');
        const winner = versions.find((v) => v.text === read!.text)!;
        expect(sorted(read!.vectorIds)).toEqual(sorted(winner.vectorIds));
        const losers = versions.filter((v) => v !== winner).flatMap((v) => v.vectorIds);
        const left = await reachable(namespace, winner.vectorInfo![0].values);
        expect(left.filter((id) => losers.includes(id) && !winner.vectorIds.includes(id))).toEqual([]);
      });

      test('drops a namespace with everything in it; it can be created again, empty', async () => {
        const namespace = await created('temp');
        const ds = await stored(namespace, 't', TEXTS[0]);
        await backend().dropNamespace(namespace);
        expect(await backend().readNamespace(namespace.key)).toBeUndefined();
        expect(await backend().listDatasourceRecords(namespace)).toEqual([]);
        expect(
          await backend().searchVectors(namespace, ds.vectorInfo![0].values, {
            topK: 1,
            includeMetadata: false,
            filter: {},
          }),
        ).toBeUndefined();
        await created('temp');
        expect(await backend().listDatasourceRecords(namespace)).toEqual([]);
        expect(await reachable(namespace, ds.vectorInfo![0].values)).toEqual([]);
      });
    });

    describe('metadata filters', () => {
      /** One datasource per shape of metadata a filter must tell apart. */
      const SHAPES: Record<string, Record<string, unknown>> = {
        a: { kind: 'fruit', n: 1, ok: true },
        b: { kind: 'veg', n: 2, ok: false },
        c: { kind: 'fruit', n: '1', ok: 'true' },
        d: { kind: { name: 'fruit' }, n: [1], ok: null, tags: ['fruit'] },
        e: {},
      };

      /** Stores the shapes; `search(filter)` answers the datasource ids a filtered search reaches. */
      const shapes = async () => {
        const namespace = await created('filters');
        const all = new Map<string, StoredDatasource>();
        for (const [i, [id, metadata]] of Object.entries(SHAPES).entries())
          all.set(id, await stored(namespace, id, TEXTS[i], { metadata }));
        const owner = new Map([...all].flatMap(([id, ds]) => ds.vectorIds.map((vectorId) => [vectorId, id] as const)));
        const probe = all.get('a')!.vectorInfo![0].values;
        const search = async (filter: VectorMetadataFilter, includeMetadata = false) => {
          const results = await backend().searchVectors(namespace, probe, { topK: 100, includeMetadata, filter });
          expect(results).toBeDefined();
          return { ids: sorted([...new Set(results!.map((r) => owner.get(r.id)!))]), results: results! };
        };
        return { namespace, all, search };
      };

      test('matches string, number and boolean fields by equality', async () => {
        const { search } = await shapes();
        expect((await search({ kind: 'fruit' })).ids).toEqual(['a', 'c']);
        expect((await search({ kind: 'veg' })).ids).toEqual(['b']);
        expect((await search({ n: 2 })).ids).toEqual(['b']);
        expect((await search({ ok: true })).ids).toEqual(['a']);
        expect((await search({ ok: false })).ids).toEqual(['b']);
        expect((await search({ kind: 'meat' })).ids).toEqual([]);
        const { results } = await search({ kind: 'veg' }, true);
        for (const result of results) expect(result.metadata).toEqual(SHAPES.b);
      });

      test('compares by JSON type: 1 never matches "1", true never matches "true"', async () => {
        const { search } = await shapes();
        expect((await search({ n: 1 })).ids).toEqual(['a']);
        expect((await search({ n: '1' })).ids).toEqual(['c']);
        expect((await search({ ok: 'true' })).ids).toEqual(['c']);
        expect((await search({ n: { $in: [1] } })).ids).toEqual(['a']);
        expect((await search({ n: { $in: ['1'] } })).ids).toEqual(['c']);
        expect((await search({ n: 0 })).ids).toEqual([]);
      });

      test('matches any value of $in', async () => {
        const { search } = await shapes();
        expect((await search({ kind: { $in: ['veg', 'meat'] } })).ids).toEqual(['b']);
        expect((await search({ kind: { $in: ['fruit', 'veg'] } })).ids).toEqual(['a', 'b', 'c']);
        expect((await search({ n: { $in: [1, 2] } })).ids).toEqual(['a', 'b']);
        expect((await search({ ok: { $in: [true, 'true'] } })).ids).toEqual(['a', 'c']);
        expect((await search({ kind: { $in: ['meat'] } })).ids).toEqual([]);
      });

      test('ANDs several fields', async () => {
        const { search } = await shapes();
        expect((await search({ kind: 'fruit', n: 1 })).ids).toEqual(['a']);
        expect((await search({ kind: 'fruit', n: '1', ok: 'true' })).ids).toEqual(['c']);
        expect((await search({ kind: { $in: ['fruit', 'veg'] }, ok: { $in: [true, false] } })).ids).toEqual(['a', 'b']);
        expect((await search({ kind: 'fruit', ok: false })).ids).toEqual([]);
      });

      test('never matches a missing field, nor one holding an object, an array or null', async () => {
        const { search } = await shapes();
        expect((await search({ missing: 'x' })).ids).toEqual([]);
        expect((await search({ kind: 'fruit', missing: 'fruit' })).ids).toEqual([]);
        expect((await search({ name: 'fruit' })).ids).toEqual([]);
        expect((await search({ tags: 'fruit' })).ids).toEqual([]);
        expect((await search({ tags: { $in: ['fruit'] } })).ids).toEqual([]);
        expect((await search({ n: { $in: [1, 2, '1'] } })).ids).not.toContain('d');
        expect((await search({ ok: 'null' })).ids).toEqual([]);
      });

      test('{} matches every datasource, those without metadata too', async () => {
        const { search } = await shapes();
        expect((await search({})).ids).toEqual(['a', 'b', 'c', 'd', 'e']);
      });

      test('with topK, returns the best of the matching vectors, even when nearer ones do not match', async () => {
        const namespace = await created('ranked');
        const all = await Promise.all(
          TEXTS.slice(0, 8).map((text, i) =>
            stored(namespace, `d${i}`, text, { metadata: { half: i % 2 === 0 ? 'even' : 'odd' } }),
          ),
        );
        const matching = all.filter((_, i) => i % 2 === 0).flatMap((ds) => ds.vectorInfo!);
        // the query is an odd datasource's own vector: the nearest vector overall does not match
        const query = all[1].vectorInfo![0].values;
        const best = [...matching].sort((x, y) => cosine(y.values, query) - cosine(x.values, query))[0];
        const results = await backend().searchVectors(namespace, query, {
          topK: 2,
          includeMetadata: true,
          filter: { half: 'even' },
        });
        expect(results!.length).toBeGreaterThanOrEqual(2);
        const ids = new Set(matching.map((v) => v.id));
        for (const result of results!) {
          expect(ids.has(result.id)).toBe(true);
          expect(result.metadata).toEqual({ half: 'even' });
        }
        const top = results!.reduce((x, y) => ((y.score ?? -Infinity) > (x.score ?? -Infinity) ? y : x));
        expect(top.id).toBe(best.id);

        const alice = serve().user('alice');
        const served = await alice.search('ranked', query, { topK: 3, filter: { half: 'even' } });
        expect(served).toHaveLength(3);
        expect(served[0].id).toBe(best.id);
        for (const result of served) expect(ids.has(result.id)).toBe(true);
        for (let i = 1; i < served.length; i++) expect(served[i - 1].score!).toBeGreaterThanOrEqual(served[i].score!);
        expect(await alice.search('ranked', TEXTS[1], { topK: 5, filter: { half: 'none' } })).toEqual([]);
        expect(await alice.search('ranked', TEXTS[1], { topK: 8, filter: {} })).toHaveLength(8);
      });

      test('the service refuses a malformed filter with a clear message, before the backend sees it', async () => {
        const alice = serve().user('alice');
        const valueRule = (field: string) =>
          `filter field '${field}' must be a string, finite number or boolean, or { $in: [1-100 of them] }`;
        const bad: [unknown, string][] = [
          ['kind', 'filter must be an object of metadata fields'],
          [[{ kind: 'fruit' }], 'filter must be an object of metadata fields'],
          [42, 'filter must be an object of metadata fields'],
          [{ 'user.kind': 'x' }, "filter field 'user.kind' must be 1-64 of A-Z a-z 0-9 _"],
          [{ 'a b': 'x' }, "filter field 'a b' must be 1-64 of A-Z a-z 0-9 _"],
          [{ '': 'x' }, "filter field '' must be 1-64 of A-Z a-z 0-9 _"],
          [{ $or: [{ a: 1 }] }, "filter field '$or' must be 1-64 of A-Z a-z 0-9 _"],
          [{ ['f'.repeat(65)]: 'x' }, `filter field '${'f'.repeat(64)}' must be 1-64 of A-Z a-z 0-9 _`],
          [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, i])), 'a filter names at most 16 fields'],
          [{ n: null }, valueRule('n')],
          [{ n: Number.NaN }, valueRule('n')],
          [{ n: Number.POSITIVE_INFINITY }, valueRule('n')],
          [{ n: [1, 2] }, valueRule('n')],
          [{ n: { nested: 1 } }, valueRule('n')],
          [{ n: { $in: [] } }, valueRule('n')],
          [{ n: { $in: 1 } }, valueRule('n')],
          [{ n: { $in: [{ a: 1 }] } }, valueRule('n')],
          [{ n: { $in: [null] } }, valueRule('n')],
          [{ n: { $in: Array.from({ length: 101 }, (_, i) => i) } }, valueRule('n')],
          [{ n: { $in: [1], $eq: 1 } }, valueRule('n')],
          [{ n: { $nin: [1] } }, valueRule('n')],
        ];
        for (const [filter, message] of bad) {
          const error = await alice
            .search('ns', 'x', { filter: filter as VectorMetadataFilter })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(SreInvalidInputError);
          expect([filter, (error as Error).message]).toEqual([filter, message]);
        }
        expect(calls).toEqual([]);
        const limits: VectorMetadataFilter = {
          ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`F_${i}`, i])),
          ['f'.repeat(64)]: { $in: Array.from({ length: 100 }, (_, i) => `v${i}`) },
        };
        await alice.createNamespace('limits');
        await alice.createDatasource('limits', { text: TEXTS[0], chunkSize: 1000, metadata: { F_0: 0 } });
        expect(await alice.search('limits', TEXTS[0], { filter: limits })).toEqual([]);
        expect(await alice.search('limits', TEXTS[0], { filter: { F_0: 0 } })).toHaveLength(1);
        expect(await alice.search('limits', TEXTS[0], { filter: undefined })).toHaveLength(1);
      });
    });

    describe('VectorDBService policy over this backend', () => {
      test("stores each caller's names under its own storage name, normalised", async () => {
        const service = serve();
        await service.user('alice').createNamespace('  My Project ', { purpose: 'docs' });
        expect(await backend().readNamespace('u_alice_my_project')).toBeDefined();
        expect(await service.user('alice').namespaceExists('my project')).toBe(true);
        expect(await service.user('alice').namespaceExists('MY_PROJECT')).toBe(true);
        expect(await service.user('bob').namespaceExists('my project')).toBe(false);
        expect(await service.agent('alice').namespaceExists('my project')).toBe(false);
        expect(await service.user('alice').listNamespaces()).toEqual([
          {
            namespace: 'u_alice_my_project',
            displayName: 'my_project',
            candidateId: 'alice',
            candidateRole: 'user',
            metadata: { purpose: 'docs' },
          },
        ]);
        expect(await service.user('bob').listNamespaces()).toEqual([]);
        await service.user('bob').createNamespace('my project');
        expect((await service.user('bob').listNamespaces()).map((n) => n.namespace)).toEqual(['u_bob_my_project']);
        expect((await service.user('alice').listNamespaces()).map((n) => n.namespace)).toEqual(['u_alice_my_project']);
      });

      test('returns exactly topK results by descending score, metadata only on request', async () => {
        const alice = serve().user('alice');
        await alice.createNamespace('search');
        for (const [i, text] of TEXTS.entries())
          await alice.createDatasource('search', {
            id: `d${i}`,
            text,
            chunkSize: 1000,
            metadata: i === 0 ? { kind: 'fruit' } : undefined,
          });
        const everything = await alice.search('search', 'apples', { topK: 100 });
        expect(everything).toHaveLength(TEXTS.length);
        expect(await alice.search('search', 'apples')).toHaveLength(10);
        const three = await alice.search('search', TEXTS[0], { topK: 3 });
        expect(three).toHaveLength(3);
        for (let i = 1; i < three.length; i++) expect(three[i - 1].score!).toBeGreaterThanOrEqual(three[i].score!);
        for (const result of three) expect(result).not.toHaveProperty('metadata');
        const first = (await alice.getDatasource('search', 'd0'))!;
        expect(first.vectorIds).toContain(three[0].id);
        const withMeta = await alice.search('search', TEXTS[0], { topK: 2, includeMetadata: true });
        expect(withMeta[0].metadata).toEqual({ kind: 'fruit' });
        expect(withMeta[1].metadata).toEqual({});
      });

      test('validates search input before the backend sees it', async () => {
        const alice = serve().user('alice');
        const bad: [unknown, unknown][] = [
          ['', {}],
          ['   ', {}],
          [[], {}],
          [[1, Number.NaN], {}],
          [['1'], {}],
          [{}, {}],
          ['x', { topK: 0 }],
          ['x', { topK: 1.5 }],
          ['x', { topK: 10_001 }],
          ['x', { topK: '3' }],
          ['x', null],
          ['x', []],
        ];
        for (const [query, opts] of bad)
          await expect(alice.search('ns', query as string, opts as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        expect(calls).toEqual([]);
      });

      test('answers a missing namespace: not found for search and writes, empty for reads', async () => {
        const alice = serve().user('alice');
        await expect(alice.search('nowhere', 'x')).rejects.toThrow(new SreNotFoundError('Namespace does not exist'));
        await expect(alice.createDatasource('nowhere', { text: 'x' })).rejects.toBeInstanceOf(SreNotFoundError);
        await expect(alice.deleteDatasource('nowhere', 'd')).rejects.toBeInstanceOf(SreNotFoundError);
        expect(await alice.listDatasources('nowhere')).toEqual([]);
        expect(await alice.getDatasource('nowhere', 'd')).toBeUndefined();
        expect(await alice.namespaceExists('nowhere')).toBe(false);
        await expect(alice.deleteNamespace('nowhere')).resolves.toBeUndefined();
        expect(await backend().listNamespaceRecords(ALICE)).toEqual([]);
      });

      test('fills datasource defaults, replaces by id, and reports unknown ids', async () => {
        const alice = serve().user('alice');
        await alice.createNamespace('replace');
        await alice.createDatasource('replace', { id: 'same', text: TEXTS.join(' '), chunkSize: 30 });
        const again = await alice.createDatasource('replace', {
          id: 'same',
          label: 'Second',
          text: TEXTS[2],
          returnFullVectorInfo: true,
        });
        expect(again).toMatchObject({ id: 'same', name: 'Second' });
        expect(again.vectorInfo).toHaveLength(again.vectorIds.length);
        expect(sorted((await alice.search('replace', TEXTS[2], { topK: 100 })).map((r) => r.id))).toEqual(
          sorted(again.vectorIds),
        );
        const generated = await alice.createDatasource('replace', { text: TEXTS[5] });
        expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(generated.name).toBe('Untitled');
        expect(generated).not.toHaveProperty('vectorInfo');
        expect(sorted((await alice.listDatasources('replace')).map((d) => d.id))).toEqual(
          sorted(['same', generated.id]),
        );
        await alice.deleteDatasource('replace', 'same');
        expect(await alice.getDatasource('replace', 'same')).toBeUndefined();
        await expect(alice.deleteDatasource('replace', 'same')).rejects.toThrow(
          new SreNotFoundError('Data source not found with id: same'),
        );
      });

      test('validates datasources and names before the backend sees them', async () => {
        const alice = serve().user('alice');
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad: unknown[] = [
          null,
          'text',
          { text: '   ' },
          { text: 42 },
          { text: 'x', chunkSize: 0 },
          { text: 'x', chunkSize: -5 },
          { text: 'x', chunkSize: 1.5 },
          { text: 'x', chunkOverlap: -1 },
          { text: 'x', chunkSize: 10, chunkOverlap: 10 },
          { text: 'x', id: 'a" || true || "' },
          { text: 'x', id: 'has space' },
          { text: 'x', id: '' },
          { text: 'x', id: 'i'.repeat(129) },
          { text: 'x', label: 7 },
          { text: 'x', metadata: cyclic },
          { text: 'x', metadata: [1] },
          { text: 'x', metadata: { n: 1n } },
        ];
        for (const dto of bad)
          await expect(alice.createDatasource('checks', dto as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        for (const name of ['', '   ', 'n'.repeat(201), 42, null])
          await expect(alice.createNamespace(name as string)).rejects.toBeInstanceOf(SreInvalidInputError);
        for (const metadata of [[], 'text', cyclic])
          await expect(alice.createNamespace('ns', metadata as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        for (const id of ['a"b', 'x y', ''])
          await expect(alice.getDatasource('ns', id)).rejects.toBeInstanceOf(SreInvalidInputError);
        expect(calls).toEqual([]);
      });

      test("admits a team namespace's members, and nobody else", async () => {
        const service = serve();
        await service.team('team-a').createNamespace('shared');
        await service.team('team-a').createDatasource('shared', { id: 'd', text: TEXTS[0] });
        const shared = 'teams/team-a/vectordb/shared';
        expect(await service.hasAccess(AccessCandidate.user('alice'), 'read', shared)).toBe(true);
        expect(await service.hasAccess(AccessCandidate.user('anna'), ['read', 'write'], shared)).toBe(true);
        expect(await service.hasAccess(AccessCandidate.user('bob'), 'read', shared)).toBe(false);
        expect(await service.hasAccess(AccessCandidate.team('team-b'), 'read', shared)).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('carol'), 'read', shared)).toBe(false);
        expect(await service.hasAccess(AccessCandidate.public(), 'read', shared)).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('bob'), 'write', 'teams/team-a/vectordb/not-yet')).toBe(
          false,
        );
        expect(await service.hasAccess(AccessCandidate.user('alice'), 'write', 'teams/team-a/vectordb/not-yet')).toBe(
          true,
        );
        expect(await service.hasAccess(AccessCandidate.user('alice'), 'read', 'teams/team-a/storage/shared')).toBe(
          false,
        );
        expect(await service.team('team-b').listDatasources('shared')).toEqual([]);
        await expect(service.user('bob').deleteNamespace('shared')).resolves.toBeUndefined();
        expect(await service.team('team-a').namespaceExists('shared')).toBe(true);
        expect((await service.team('team-a').getDatasource('shared', 'd'))?.id).toBe('d');
      });

      test("decides on the namespace's own ACL, even under the caller's own storage name", async () => {
        const service = serve();
        const mine = namespaceOf(ALICE, 'taken');
        await backend().createNamespace(
          mine,
          recordOf(mine, {}, new ACL().grant(AccessCandidate.user('bob'), 'owner')),
        );
        const alice = service.user('alice');
        await expect(alice.listDatasources('taken')).rejects.toBeInstanceOf(SreAccessDeniedError);
        await expect(alice.createNamespace('taken')).rejects.toBeInstanceOf(SreAccessDeniedError);
        await expect(alice.deleteNamespace('taken')).rejects.toBeInstanceOf(SreAccessDeniedError);
        expect(await alice.listNamespaces()).toEqual([]);
        expect(await service.hasAccess(ALICE, 'read', 'users/alice/vectordb/taken')).toBe(false);
        const readOnly = namespaceOf(ALICE, 'read-only');
        await backend().createNamespace(readOnly, recordOf(readOnly, {}, new ACL().grant(ALICE, 'read')));
        expect(await alice.listDatasources('read-only')).toEqual([]);
        await expect(alice.createDatasource('read-only', { text: 'x' })).rejects.toBeInstanceOf(SreAccessDeniedError);
        expect(await backend().readNamespace(mine.key)).toBeDefined();
      });

      test('leaves an existing namespace as it is when it is created again, even concurrently', async () => {
        const alice = serve().user('alice');
        await alice.createNamespace('keep', { v: 1 });
        await alice.createDatasource('keep', { id: 'd', text: TEXTS[0] });
        await Promise.all(Array.from({ length: 5 }, (_, i) => alice.createNamespace('keep', { v: i + 2 })));
        expect((await alice.listNamespaces()).map((n) => n.metadata)).toEqual([{ v: 1 }]);
        expect((await alice.getDatasource('keep', 'd'))?.id).toBe('d');
        await Promise.all(Array.from({ length: 5 }, () => alice.createNamespace('fresh')));
        expect(sorted((await alice.listNamespaces()).map((n) => n.displayName))).toEqual(['fresh', 'keep']);
      });

      test('deletes a namespace with everything in it', async () => {
        const alice = serve().user('alice');
        await alice.createNamespace('temp');
        await alice.createDatasource('temp', { id: 't', text: TEXTS[1] });
        await alice.deleteNamespace('temp');
        await alice.deleteNamespace('temp');
        expect(await alice.namespaceExists('temp')).toBe(false);
        expect(await alice.listDatasources('temp')).toEqual([]);
        await alice.createNamespace('temp');
        expect(await alice.listDatasources('temp')).toEqual([]);
        expect(await alice.search('temp', TEXTS[1])).toEqual([]);
      });

      test('lets a candidate without a team own its namespaces, and nothing of a team', async () => {
        const service = serve();
        await service.user('carol').createNamespace('private');
        await service.user('carol').createDatasource('private', { id: 'p', text: TEXTS[3] });
        expect(await service.user('carol').search('private', TEXTS[3], { topK: 1 })).toHaveLength(1);
        expect(await service.hasAccess(AccessCandidate.user('carol'), 'write', 'teams/team-a/vectordb/x')).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('alice'), 'read', 'users/carol/vectordb/private')).toBe(
          false,
        );
      });

      test('wraps backend failures into typed errors naming VectorDB and the connector, secrets scrubbed', async () => {
        const failing = serve(view(new Error(`index down (key ${SECRET})`))).user('alice');
        for (const attempt of [
          () => failing.createNamespace('ns'),
          () => failing.namespaceExists('ns'),
          () => failing.listNamespaces(),
          () => failing.search('ns', 'x'),
          () => failing.listDatasources('ns'),
        ]) {
          const error = (await attempt().catch((e: unknown) => e)) as SreBackendError;
          expect(error).toBeInstanceOf(SreBackendError);
          expect([error.subsystem, error.connector]).toEqual(['VectorDB', label]);
          expect(error.message).toContain('index down');
          expect(error.message).not.toContain(SECRET);
        }
      });
    });
  });
}
