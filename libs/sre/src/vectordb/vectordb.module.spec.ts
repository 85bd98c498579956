import { Test } from '@nestjs/testing';
import { SreConfigError } from '../core/errors';
import { MemoryVectorDBBackend } from '../testing/backends/memory-vectordb.backend';
import { backendOf, describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { getVectorDBToken, InjectVectorDB, VECTORDB, VECTORDB_CONNECTORS, VectorDBModule } from './vectordb.module';
import { VectorDBService } from './vectordb.service';

const TEAMS: Record<string, string> = { alice: 'team-a', bob: 'team-b' };

describe('VectorDBModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryVectorDBBackend, VectorDBService>(
    VECTORDB,
    VectorDBModule,
    InjectVectorDB,
    {
      connector: MemoryVectorDBBackend,
      planned: [],
      available: ['RAMVec', 'Pinecone', 'Milvus'],
      unknownName: 'Qdrant',
      imports: [fakeAccountModule(TEAMS)],
    },
  );

  it('exports the registry and token of its declaration, and declares the SDKs and dependencies of the seed', () => {
    expect(VECTORDB_CONNECTORS).toBe(VECTORDB.registry);
    expect(getVectorDBToken('x')).toBe('SreVectorDB:x');
    expect(VECTORDB.registry.entry('Pinecone')?.sdk).toEqual([{ package: '@pinecone-database/pinecone', range: '^8' }]);
    expect(VECTORDB.registry.entry('Milvus')?.sdk).toEqual([{ package: '@zilliz/milvus2-sdk-node', range: '^3' }]);
    const uses = (name: string) =>
      Object.fromEntries(
        Object.entries(VECTORDB.registry.entry(name)?.uses ?? {}).map(([key, dep]) => [key, dep.optional === true]),
      );
    expect(uses('RAMVec')).toEqual({ vault: true });
    expect(uses('Pinecone')).toEqual({ nkv: false, vault: true });
    expect(uses('Milvus')).toEqual({ nkv: true, vault: true });
  });

  it('refuses to boot without the Account subsystem, in a sentence', async () => {
    const error = await Test.createTestingModule({
      imports: [VectorDBModule.forRoot({ connector: MemoryVectorDBBackend })],
    })
      .compile()
      .then(
        (moduleRef) => moduleRef.close().then(() => new Error('the module booted')),
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain('needs the Account subsystem (team resolution)');
  });

  describe('the booted service', () => {
    const db = useConnector(fakeAccountModule(TEAMS));

    it('wraps the connector class in the real service, team namespaces decided by the Account module', async () => {
      await db().team('team-a').createNamespace('shared');
      await db().team('team-a').createDatasource('shared', { id: 'd', text: 'team knowledge' });
      expect(backendOf<MemoryVectorDBBackend>(db()).namespaceKeys()).toContain('t_team-a_shared');
      expect(await db().hasAccess(db().user('alice').candidate, 'read', 'teams/team-a/vectordb/shared')).toBe(true);
      expect(await db().hasAccess(db().user('bob').candidate, 'read', 'teams/team-a/vectordb/shared')).toBe(false);
      expect(await db().team('team-a').search('shared', 'team knowledge', { topK: 1 })).toHaveLength(1);
    });
  });
});
