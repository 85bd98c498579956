import { createConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { AccessCandidate } from '../../security/access-candidate';
import { VectorDBService } from '../../vectordb/vectordb.service';
import { describeVectorDBBackend } from '../vectordb.contract';
import { foldedLetterCounts, MemoryVectorDBBackend } from './memory-vectordb.backend';

describeVectorDBBackend('MemoryVectorDB', () => new MemoryVectorDBBackend());
describeVectorDBBackend('MemoryVectorDB(16 dimensions)', () => new MemoryVectorDBBackend({ dimensions: 16 }));

describe('MemoryVectorDBBackend', () => {
  const service = (backend: MemoryVectorDBBackend) =>
    new VectorDBService(backend, createConnectorContext({ subsystem: 'VectorDB', connector: 'MemoryVectorDB' }), {
      account: { getCandidateTeam: async () => undefined },
    });

  it('chunks into fixed, overlapping slices and embeds with the configured embedder', async () => {
    const backend = new MemoryVectorDBBackend({ dimensions: 2, embed: (text) => [text.length, 1] });
    const alice = service(backend).user('alice');
    await alice.createNamespace('docs');
    const ds = await alice.createDatasource('docs', {
      id: 'd',
      text: 'abcdefghij',
      chunkSize: 4,
      chunkOverlap: 1,
      returnFullVectorInfo: true,
    });
    expect(ds.vectorInfo!.map((v) => v.text)).toEqual(['abcd', 'defg', 'ghij']);
    expect(ds.vectorInfo!.map((v) => v.values)).toEqual([
      [4, 1],
      [4, 1],
      [4, 1],
    ]);
    expect(ds.vectorIds).toEqual(['d_0', 'd_1', 'd_2']);
    expect(backend.vectorCount).toBe(3);
    expect(backend.namespaceKeys()).toEqual(['u_alice_docs']);
  });

  it('uses letter counts by default, and refuses an overlap as long as its default chunk', async () => {
    const backend = new MemoryVectorDBBackend();
    expect(backend.embed('Abc')).toEqual(foldedLetterCounts('abc'));
    expect(foldedLetterCounts('ai', 8)).toEqual([2, 0, 0, 0, 0, 0, 0, 0]);
    const alice = service(backend).user('alice');
    await alice.createNamespace('docs');
    await expect(alice.createDatasource('docs', { text: 'x', chunkOverlap: 20 })).rejects.toBeInstanceOf(
      SreInvalidInputError,
    );
    expect(backend.vectorCount).toBe(0);
  });

  it('leaves the previous datasource whole when the embedder fails', async () => {
    let fail = false;
    const backend = new MemoryVectorDBBackend({
      embed: (text) => {
        if (fail) throw new Error('embedder down');
        return foldedLetterCounts(text);
      },
    });
    const alice = service(backend).user('alice');
    await alice.createNamespace('docs');
    await alice.createDatasource('docs', { id: 'd', text: 'first version' });
    fail = true;
    await expect(alice.createDatasource('docs', { id: 'd', text: 'second version' })).rejects.toThrow('embedder down');
    expect((await alice.getDatasource('docs', 'd'))?.text).toBe('first version');
    await expect(alice.createDatasource('docs', { id: 'new', text: 'never stored' })).rejects.toThrow('embedder down');
    expect(await alice.getDatasource('docs', 'new')).toBeUndefined();
  });

  it('refuses an embedder that answers the wrong dimension', () => {
    const backend = new MemoryVectorDBBackend({ dimensions: 3, embed: () => [1, 2] });
    expect(() => backend.embed('x')).toThrow('the embedder returned 2 values, not 3 finite numbers');
  });

  it('hands out copies: changing a result never changes what is stored', async () => {
    const backend = new MemoryVectorDBBackend();
    const alice = service(backend).user('alice');
    await alice.createNamespace('docs', { tag: 'kept' });
    const ds = await alice.createDatasource('docs', { id: 'd', text: 'copy me', metadata: { tag: 'kept' } });
    ds.vectorIds.push('forged');
    const [info] = await alice.listNamespaces();
    info.metadata.tag = 'changed';
    const [hit] = await alice.search('docs', 'copy me', { includeMetadata: true });
    hit.metadata!.tag = 'changed';
    hit.values[0] = 999;
    expect((await alice.getDatasource('docs', 'd'))?.vectorIds).toEqual(['d_0']);
    expect((await alice.listNamespaces())[0].metadata).toEqual({ tag: 'kept' });
    const [again] = await alice.search('docs', 'copy me', { includeMetadata: true });
    expect(again.metadata).toEqual({ tag: 'kept' });
    expect(again.values[0]).not.toBe(999);
    const record = await backend.readNamespace('u_alice_docs');
    record!.acl.grant(AccessCandidate.user('mallory'), 'owner');
    expect(await service(backend).user('mallory').listNamespaces()).toEqual([]);
    expect((await backend.readNamespace('u_alice_docs'))!.acl.serialize()).not.toBe(record!.acl.serialize());
    backend.clear();
    expect(backend.namespaceKeys()).toEqual([]);
  });
});
