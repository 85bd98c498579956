import { startGooglePeer, type GooglePeer } from '../../../../../test/peers/google';
import { startOpenAIPeer, type OpenAIPeer } from '../../../../../test/peers/openai';
import { SreAuthError, SreConfigError, SreRateLimitError, SreUnavailableError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import type { SecretReader } from '../../llm/llm-credentials';
import { AccessCandidate } from '../../security/access-candidate';
import { describeVectorDBBackend } from '../../testing/vectordb.contract';
import { RAMVecConnector } from '../connectors/ramvec.connector';
import { embedInBatches } from './embedding-batches';
import { cosineSimilarity as cosine } from './similarity';
import {
  createEmbedder,
  dimensionsOf,
  EmbeddingsSettings,
  GoogleEmbedder,
  LocalEmbedder,
  OpenAIEmbedder,
} from './embedder';

const SOURCE = { subsystem: 'VectorDB', connector: 'RAMVec' };
const TEAM_A = AccessCandidate.team('team-a');
const TEAM_B = AccessCandidate.team('team-b');

/** Each team's vault holds its own keys, under the provider's name. */
const vault: SecretReader = {
  requester: (candidate) => ({
    get: async (key) => (candidate.role === 'team' && candidate.id !== 'team-z' ? `${key}-${candidate.id}` : undefined),
  }),
};

const norm = (v: number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

describe('embeddings settings', () => {
  it('takes the provider in any case and fills the model and size per provider', () => {
    for (const provider of ['openai', 'OpenAI', 'google', 'GoogleAI', 'GOOGLE', 'local', 'Local'])
      expect(validateSettings(EmbeddingsSettings, { provider }, 'e').problems).toEqual([]);
    const of = (settings: Partial<EmbeddingsSettings>) => Object.assign(new EmbeddingsSettings(), settings);
    expect(dimensionsOf(of({}))).toBe(3072);
    expect(dimensionsOf(of({ provider: 'google' }))).toBe(3072);
    expect(dimensionsOf(of({ provider: 'google', model: 'text-embedding-004' }))).toBe(768);
    expect(dimensionsOf(of({ provider: 'local' }))).toBe(512);
    expect(createEmbedder({ provider: 'OpenAI' }, vault, SOURCE)).toBeInstanceOf(OpenAIEmbedder);
    expect(createEmbedder({ provider: 'googleai' }, vault, SOURCE)).toBeInstanceOf(GoogleEmbedder);
    expect(createEmbedder({ provider: 'LOCAL' }, vault, SOURCE)).toBeInstanceOf(LocalEmbedder);
    expect(() => createEmbedder({ provider: 'cohere' }, vault, SOURCE)).toThrow(SreConfigError);
  });

  it('refuses a size or a model the local provider does not have', () => {
    expect(
      validateSettings(EmbeddingsSettings, { provider: 'local', dimensions: 256, model: 'other' }, 'e').problems.sort(),
    ).toEqual([
      "e.dimensions: the local model's vectors have 512 dimensions",
      "e.model: the local provider has one model, 'universal-sentence-encoder-lite'",
    ]);
    expect(validateSettings(EmbeddingsSettings, { provider: 'local', dimensions: 512 }, 'e').problems).toEqual([]);
  });
});

describeVectorDBBackend(
  'RAMVec (local embeddings)',
  () => new RAMVecConnector({ embeddings: Object.assign(new EmbeddingsSettings(), { provider: 'local' }) }),
  { timeout: 60_000 },
);

describe('Google embeddings through @google/genai', () => {
  let peer: GooglePeer;
  beforeAll(async () => {
    peer = await startGooglePeer({ apiKeys: ['googleai-team-a', 'googleai-team-b'] });
  });
  afterAll(() => peer?.stop());
  afterEach(() => jest.restoreAllMocks());

  const google = (settings: Partial<EmbeddingsSettings> = {}) =>
    createEmbedder({ provider: 'Google', baseURL: peer.baseURL, credentials: 'vault', ...settings }, vault, SOURCE);

  it("embeds with each team's own key at the configured size, normalised (W38)", async () => {
    const embedder = google({ dimensions: 256 });
    const before = peer.requests.length;
    const [a] = await embedder.embed(['notes of team a'], TEAM_A);
    const [b] = await embedder.embed(['notes of team b'], TEAM_B);
    const seen = peer.requests.slice(before);
    expect(seen.map((r) => [r.path, r.apiKey])).toEqual([
      ['/v1beta/models/gemini-embedding-001:batchEmbedContents', 'googleai-team-a'],
      ['/v1beta/models/gemini-embedding-001:batchEmbedContents', 'googleai-team-b'],
    ]);
    expect(seen[0].body).toEqual({
      requests: [
        {
          content: { parts: [{ text: 'notes of team a' }], role: 'user' },
          outputDimensionality: 256,
          model: 'models/gemini-embedding-001',
        },
      ],
    });
    for (const vector of [a, b]) {
      expect(vector).toHaveLength(256);
      expect(norm(vector)).toBeCloseTo(1, 6);
    }
  });

  it('takes text-embedding-004 at its own 768 and keeps similar texts close', async () => {
    const embedder = google({ model: 'text-embedding-004' });
    expect(embedder.dimensions).toBe(768);
    const [x, y, z] = await embedder.embed(['red apples', 'red apples!', 'quantum gravity'], TEAM_A);
    expect(x).toHaveLength(768);
    expect(cosine(x, y)).toBeGreaterThan(cosine(x, z));
  });

  it('without a key for the owner, fails clearly before any request', async () => {
    const before = peer.requests.length;
    const error = await google()
      .embed(['x'], AccessCandidate.team('team-z'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreUnavailableError);
    expect((error as Error).message).toContain("vault key 'googleai' or GOOGLE_AI_API_KEY");
    expect(peer.requests.length).toBe(before);
  });

  it('reports a refused key as an auth error, not retried, without the key', async () => {
    const embedder = createEmbedder(
      { provider: 'google', baseURL: peer.baseURL, credentials: { apiKey: 'wrong-key' }, maxRetries: 3 },
      vault,
      SOURCE,
    );
    const before = peer.requests.length;
    const error = await embedder.embed(['x'], TEAM_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreAuthError);
    expect((error as Error).message).not.toContain('wrong-key');
    expect(peer.requests.length - before).toBe(1);
  });

  it('retries a 429 (honouring its RetryInfo) and a 503, then succeeds', async () => {
    const embedder = google({ dimensions: 64, maxRetries: 2 });
    peer.enqueue({ error: { status: 429, retryAfterSeconds: 0 } }, { error: { status: 503 } });
    const before = peer.requests.length;
    const vectors = await embedder.embed(['hello'], TEAM_A);
    expect(vectors[0]).toHaveLength(64);
    expect(peer.requests.length - before).toBe(3);
  });

  it('gives up after maxRetries with a rate-limit error naming the provider', async () => {
    const embedder = google({ dimensions: 64, maxRetries: 1 });
    peer.enqueue(...Array.from({ length: 2 }, () => ({ error: { status: 429, retryAfterSeconds: 0 } })));
    const error = await embedder.embed(['hello'], TEAM_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreRateLimitError);
    expect((error as Error).message).toContain('GoogleAI embeddings (gemini-embedding-001)');
    expect(error).toMatchObject({ retryAfterMs: 0, subsystem: 'VectorDB', connector: 'RAMVec' });
  });

  it('sends batches of batchSize, at most `concurrency` at once (W39), vectors in order', async () => {
    let inFlight = 0;
    let most = 0;
    const realFetch = globalThis.fetch;
    jest.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        return await realFetch(...args);
      } finally {
        inFlight--;
      }
    });
    const embedder = google({ dimensions: 32, batchSize: 5, concurrency: 3 });
    const texts = Array.from({ length: 42 }, (_, i) => `text ${i}`);
    const before = peer.requests.length;
    const vectors = await embedder.embed(texts, TEAM_A);
    const seen = peer.requests.slice(before);
    expect(seen).toHaveLength(9);
    expect(seen.map((r) => (r.body.requests as unknown[]).length).sort((a, b) => a - b)).toEqual([
      2, 5, 5, 5, 5, 5, 5, 5, 5,
    ]);
    expect(most).toBe(3);
    const [last] = await embedder.embed([texts[41]], TEAM_A);
    expect(vectors[41]).toEqual(last);
  });
});

describe('OpenAI embeddings on the shared batching', () => {
  let peer: OpenAIPeer;
  beforeAll(async () => {
    peer = await startOpenAIPeer({ apiKeys: ['openai-team-a', 'openai-team-b'] });
  });
  afterAll(() => peer?.stop());

  const openai = (settings: Partial<EmbeddingsSettings> = {}) =>
    createEmbedder(
      { model: 'text-embedding-3-small', dimensions: 16, baseURL: peer.baseURL, credentials: 'vault', ...settings },
      vault,
      SOURCE,
    );

  it("batches, keeps each team's key, and retries a 429 then succeeds", async () => {
    const before = peer.requests.length;
    peer.failNext(1, 429, 0);
    const vectors = await openai({ batchSize: 4, concurrency: 2 }).embed(
      Array.from({ length: 10 }, (_, i) => `t${i}`),
      TEAM_B,
    );
    expect(vectors).toHaveLength(10);
    const seen = peer.requests.slice(before).filter((r) => r.path.endsWith('/embeddings'));
    expect(seen.length).toBe(4);
    expect(new Set(seen.map((r) => r.apiKey))).toEqual(new Set(['openai-team-b']));
  });
});

describe('embedInBatches', () => {
  const check = { what: 'test embeddings', dimensions: 2, source: SOURCE };

  it('never has more than `concurrency` batches in flight and keeps the order', async () => {
    let inFlight = 0;
    let most = 0;
    const texts = Array.from({ length: 23 }, (_, i) => String(i));
    const vectors = await embedInBatches(
      texts,
      { batchSize: 2, concurrency: 4, maxRetries: 0 },
      async (batch) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
        inFlight--;
        return batch.map((text) => [Number(text), 1]);
      },
      check,
    );
    expect(most).toBe(4);
    expect(vectors.map((v) => v[0])).toEqual(texts.map(Number));
  });

  it('stops starting batches after one fails for good, and refuses wrong answers', async () => {
    let calls = 0;
    const failing = embedInBatches(
      Array.from({ length: 20 }, () => 'x'),
      { batchSize: 1, concurrency: 2, maxRetries: 0 },
      async () => {
        calls++;
        throw Object.assign(new Error('bad request'), { status: 400 });
      },
      check,
    );
    const error = await failing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreUnavailableError);
    expect((error as Error).message).toBe('test embeddings: HTTP 400: bad request');
    expect(calls).toBe(2);
    await expect(
      embedInBatches(['a', 'b'], { batchSize: 2, concurrency: 1, maxRetries: 0 }, async () => [[1, 2]], check),
    ).rejects.toThrow('answered 1 vectors of 2 dimensions for 2 texts of 2');
  });
});
