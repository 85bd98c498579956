import { SreAccessDeniedError, SreInvalidInputError, SreNotFoundError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { ACL } from '../security/acl';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectVectorDB } from './vectordb.decorators';
import { VectorDBModule } from './vectordb.module';
import { VECTORDB_DEFINITION } from './vectordb.registry';
import {
  DatasourceInput,
  NamespaceRecord,
  StoredDatasource,
  VectorDBService,
  VectorNamespace,
  VectorResult,
  VectorSearchOptions,
} from './vectordb.service';

const DIMENSIONS = 8;

/** Deterministic toy embedding: letter counts folded into 8 buckets. */
function embed(text: string): number[] {
  const vector = new Array<number>(DIMENSIONS).fill(0);
  for (const char of text.toLowerCase())
    if (char >= 'a' && char <= 'z') vector[(char.charCodeAt(0) - 97) % DIMENSIONS]++;
  return vector;
}

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((sum, x, i) => sum + x * b[i], 0);
  const norm = Math.hypot(...a) * Math.hypot(...b);
  return norm === 0 ? 0 : dot / norm;
}

interface StoredVector extends VectorResult {
  datasourceId: string;
}

/** Brute-force in-memory backend; chunks are fixed slices of `chunkSize` characters. */
class MemoryVectorDB extends VectorDBService {
  readonly namespaces = new Map<string, NamespaceRecord>();
  readonly vectors = new Map<string, StoredVector[]>();
  readonly datasources = new Map<string, Map<string, StoredDatasource>>();

  protected async readNamespace(key: string) {
    return this.namespaces.get(key);
  }

  protected async listNamespaceRecords(owner: AccessCandidate) {
    return [...this.namespaces.values()].filter((r) => r.candidateId === owner.id && r.candidateRole === owner.role);
  }

  protected async writeNamespace(ns: VectorNamespace, record: NamespaceRecord) {
    this.namespaces.set(ns.key, record);
    this.vectors.set(ns.key, []);
    this.datasources.set(ns.key, new Map());
  }

  protected async dropNamespace(ns: VectorNamespace) {
    this.namespaces.delete(ns.key);
    this.vectors.delete(ns.key);
    this.datasources.delete(ns.key);
  }

  protected async searchVectors(ns: VectorNamespace, query: string | number[], options: Required<VectorSearchOptions>) {
    const target = typeof query === 'string' ? embed(query) : query;
    if (target.length !== DIMENSIONS) throw new SreInvalidInputError(`query vector must have ${DIMENSIONS} dimensions`);
    // deliberately unsorted and over-long: the base owns ordering and topK
    return this.vectors.get(ns.key)!.map(({ datasourceId: _ds, ...v }) => ({
      ...v,
      score: cosine(v.values, target),
      metadata: options.includeMetadata ? v.metadata : undefined,
    }));
  }

  protected async upsertDatasource(ns: VectorNamespace, ds: DatasourceInput) {
    const size = ds.chunkSize ?? 20;
    const chunks: string[] = [];
    for (let i = 0; i < ds.text.length; i += size) chunks.push(ds.text.slice(i, i + size));
    const fresh = chunks.map((text, i) => ({
      id: `${ds.id}_${i}`,
      datasourceId: ds.id,
      text,
      values: embed(text),
      metadata: ds.metadata,
    }));
    this.vectors.set(ns.key, [...this.vectors.get(ns.key)!.filter((v) => v.datasourceId !== ds.id), ...fresh]);
    const stored: StoredDatasource = {
      id: ds.id,
      namespaceId: ns.key,
      name: ds.label,
      text: ds.text,
      metadata: JSON.stringify(ds.metadata),
      vectorIds: fresh.map((v) => v.id),
      vectorInfo: fresh.map(({ datasourceId: _ds, ...v }) => v),
      candidateId: ns.owner.id,
      candidateRole: ns.owner.role,
      chunkSize: size,
    };
    this.datasources.get(ns.key)!.set(ds.id, stored);
    return stored;
  }

  protected async readDatasource(ns: VectorNamespace, id: string) {
    return this.datasources.get(ns.key)?.get(id);
  }

  protected async listDatasourceRecords(ns: VectorNamespace) {
    return [...(this.datasources.get(ns.key)?.values() ?? [])];
  }

  protected async dropDatasource(ns: VectorNamespace, id: string) {
    this.vectors.set(
      ns.key,
      this.vectors.get(ns.key)!.filter((v) => v.datasourceId !== id),
    );
    return this.datasources.get(ns.key)!.delete(id);
  }
}

const TEAMS: Record<string, string> = { alice: 'team-a', bob: 'team-b' };

describe('VectorDBModule', () => {
  const { useConnector } = describeSubsystemModule(VECTORDB_DEFINITION, VectorDBModule, InjectVectorDB, {
    connector: MemoryVectorDB,
    planned: ['RAMVec', 'Pinecone', 'Milvus'],
    unknownName: 'Qdrant',
  });

  describe('requester', () => {
    const db = useConnector(fakeAccountModule(TEAMS));

    it('scopes namespace names to the caller', async () => {
      await db().user('alice').createNamespace('  My Project ', { purpose: 'docs' });
      expect([...db().namespaces.keys()]).toContain('u_alice_my_project');
      expect(await db().user('alice').namespaceExists('my project')).toBe(true);
      expect(await db().user('bob').namespaceExists('my project')).toBe(false);
      expect(await db().user('alice').listNamespaces()).toEqual([
        {
          namespace: 'u_alice_my_project',
          displayName: 'my_project',
          candidateId: 'alice',
          candidateRole: 'user',
          metadata: { purpose: 'docs' },
        },
      ]);
      expect(await db().user('bob').listNamespaces()).toEqual([]);
    });

    it('returns exactly topK results by descending score, metadata only on request', async () => {
      const alice = db().user('alice');
      await alice.createNamespace('search');
      await alice.createDatasource('search', {
        id: 'ds-1',
        text: 'apples and bananas and cherries and dates and figs',
        chunkSize: 10,
        metadata: { kind: 'fruit' },
      });
      const all = await alice.listDatasources('search');
      expect(all).toHaveLength(1);
      expect(all[0].vectorIds).toHaveLength(5);
      const two = await alice.search('search', 'bananas', { topK: 2 });
      expect(two).toHaveLength(2);
      expect(two[0].score!).toBeGreaterThanOrEqual(two[1].score!);
      expect(two[0]).not.toHaveProperty('metadata');
      const withMeta = await alice.search('search', embed('dates'), { topK: 1, includeMetadata: true });
      expect(withMeta).toHaveLength(1);
      expect(withMeta[0].metadata).toEqual({ kind: 'fruit' });
      expect(await alice.search('search', 'figs')).toHaveLength(5);
      await expect(alice.search('search', [1, 2, 3])).rejects.toThrow('query vector must have 8 dimensions');
      await expect(alice.search('search', 'x', { topK: 0 })).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(alice.search('search', 'x', { topK: 1.5 })).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(alice.search('nowhere', 'x')).rejects.toThrow(new SreNotFoundError('Namespace does not exist'));
    });

    it('replaces a re-created datasource whole, and reports unknown ids', async () => {
      const alice = db().user('alice');
      await alice.createNamespace('replace');
      await alice.createDatasource('replace', { id: 'same', text: 'one two three four five six seven', chunkSize: 5 });
      const again = await alice.createDatasource('replace', {
        id: 'same',
        label: 'Second',
        text: 'short',
        returnFullVectorInfo: true,
      });
      expect(again).toMatchObject({ name: 'Second', vectorIds: ['same_0'] });
      expect(again.vectorInfo).toHaveLength(1);
      expect(await alice.search('replace', 'one two', { topK: 100 })).toHaveLength(1);
      const generated = await alice.createDatasource('replace', { text: 'no id given' });
      expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(generated.name).toBe('Untitled');
      expect(generated).not.toHaveProperty('vectorInfo');
      await alice.deleteDatasource('replace', 'same');
      expect(await alice.getDatasource('replace', 'same')).toBeUndefined();
      await expect(alice.deleteDatasource('replace', 'same')).rejects.toThrow('Data source not found with id: same');
    });

    it('validates datasources before the backend sees them', async () => {
      const alice = db().user('alice');
      await alice.createNamespace('checks');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const bad of [
        { text: '   ' },
        { text: 'x', chunkSize: 0 },
        { text: 'x', chunkSize: 10, chunkOverlap: 10 },
        { text: 'x', id: 'a" || true || "' },
        { text: 'x', metadata: cyclic },
      ]) {
        await expect(alice.createDatasource('checks', bad)).rejects.toBeInstanceOf(SreInvalidInputError);
      }
      expect(await alice.listDatasources('checks')).toEqual([]);
      await expect(alice.createDatasource('missing-ns', { text: 'x' })).rejects.toBeInstanceOf(SreNotFoundError);
      await expect(alice.createNamespace('')).rejects.toBeInstanceOf(SreInvalidInputError);
    });

    it('isolates callers and denies another team on a team namespace', async () => {
      await db().team('team-a').createNamespace('shared');
      await db().team('team-a').createDatasource('shared', { id: 'd', text: 'team knowledge' });
      expect(await db().team('team-b').listDatasources('shared')).toEqual([]);
      expect(await db().hasAccess(AccessCandidate.team('team-b'), 'read', 'teams/team-a/vectordb/shared')).toBe(false);
      expect(await db().hasAccess(AccessCandidate.user('bob'), 'read', 'teams/team-a/vectordb/shared')).toBe(false);
      expect(await db().hasAccess(AccessCandidate.user('alice'), 'read', 'teams/team-a/vectordb/shared')).toBe(true);
      expect(await db().hasAccess(AccessCandidate.user('bob'), 'write', 'teams/team-a/vectordb/not-yet')).toBe(false);
      await expect(db().user('bob').deleteNamespace('shared')).resolves.toBeUndefined();
      expect(await db().team('team-a').namespaceExists('shared')).toBe(true);
      // the namespace's own ACL decides, even on the caller's own storage name
      const record = db().namespaces.get('u_alice_my_project')!;
      const original = record.acl;
      record.acl = new ACL().grant(AccessCandidate.user('bob'), 'owner');
      await expect(db().user('alice').listDatasources('my project')).rejects.toBeInstanceOf(SreAccessDeniedError);
      record.acl = original;
      expect(await db().user('alice').listDatasources('my project')).toEqual([]);
    });

    it('deletes a namespace with everything in it', async () => {
      const alice = db().user('alice');
      await alice.createNamespace('temp');
      await alice.createDatasource('temp', { id: 't', text: 'temporary' });
      await alice.deleteNamespace('temp');
      await alice.deleteNamespace('temp');
      expect(await alice.namespaceExists('temp')).toBe(false);
      expect(await alice.listDatasources('temp')).toEqual([]);
      expect(db().vectors.has('u_alice_temp')).toBe(false);
    });
  });
});
