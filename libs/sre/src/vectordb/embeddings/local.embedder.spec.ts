import { cosineSimilarity as cosine } from './similarity';
import { EmbeddingsSettings } from './embedding-settings';
import { LocalEmbedder } from './local.embedder';
import { AccessCandidate } from '../../security/access-candidate';

const SOURCE = { subsystem: 'VectorDB', connector: 'RAMVec' };
const TEAM_A = AccessCandidate.team('team-a');
const TEAM_B = AccessCandidate.team('team-b');

// Each spec file has its own module registry, so the model and the WASM backend start fresh here:
// the first test sees the load from the very beginning.
describe('local embeddings (Universal Sentence Encoder lite, in process)', () => {
  const local = new LocalEmbedder(Object.assign(new EmbeddingsSettings(), { provider: 'local' }), SOURCE);

  it('loads when the WASM backend comes up after the weights are read (a busy host)', async () => {
    const instantiate = WebAssembly.instantiate.bind(WebAssembly);
    const slow = jest
      .spyOn(WebAssembly, 'instantiate')
      .mockImplementation(((...args: Parameters<typeof instantiate>) =>
        new Promise((resolve) => setTimeout(resolve, 300)).then(() => instantiate(...args))) as typeof instantiate);
    try {
      const [vector] = await local.embed(['the backend starts slowly'], TEAM_A);
      expect(slow).toHaveBeenCalled();
      expect(vector).toHaveLength(512);
    } finally {
      slow.mockRestore();
    }
  }, 60_000);

  it('ranks a paraphrase above unrelated sentences, in 512 dimensions, the same on every call', async () => {
    const [query, paraphrase, ...unrelated] = await local.embed(
      [
        'How do I reset my password?',
        'I forgot my login credentials and need to change them',
        'The stock market fell sharply on Tuesday',
        'Bake the bread for forty minutes at 200 degrees',
        'Penguins live in the southern hemisphere',
      ],
      TEAM_A,
    );
    expect(local.dimensions).toBe(512);
    for (const vector of [query, paraphrase, ...unrelated]) expect(vector).toHaveLength(512);
    const close = cosine(query, paraphrase);
    for (const other of unrelated) expect(close).toBeGreaterThan(cosine(query, other) + 0.1);
    const [again] = await local.embed(['How do I reset my password?'], TEAM_B);
    expect(again).toEqual(query);
  }, 60_000);

  it('embeds many texts in order, in batches, whatever the batch they land in', async () => {
    const texts = Array.from({ length: 70 }, (_, i) => `sentence number ${i} about gardens`);
    const all = await local.embed(texts, TEAM_A);
    expect(all).toHaveLength(70);
    const [single] = await local.embed([texts[69]], TEAM_A);
    expect(all[69]).toEqual(single);
  }, 60_000);
});
