import { rawRequest } from './support/http';
import { startExampleAppInProcess, type InProcessApp } from './support/in-process-app';

/** The example app's /vectors routes: local embeddings, so semantic search with no key and no network. */
function describeVectorRoutes(app: () => { baseUrl: string }): void {
  const post = (ns: string, body: unknown, team = 'default') =>
    rawRequest(app().baseUrl, 'POST', `/vectors/${ns}`, {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'x-sre-team': team },
    });
  const search = async (ns: string, query: Record<string, string>, team = 'default') => {
    const res = await rawRequest(app().baseUrl, 'GET', `/vectors/${ns}/search?${new URLSearchParams(query)}`, {
      headers: { 'x-sre-team': team },
    });
    return { status: res.status, body: JSON.parse(res.body.toString()) };
  };

  it('stores texts and finds the semantically closest first, not the one sharing words', async () => {
    const stored = await post('faq', {
      texts: [
        'To change your password, open the account settings and choose "Security".',
        'Our office is closed on public holidays.',
        'Invoices are sent by email at the start of each month.',
        'The password of the office wifi is written on the kitchen wall.',
      ],
    });
    expect(stored.status).toBe(201);
    const body = JSON.parse(stored.body.toString());
    expect(body.namespace).toBe('faq');
    expect(body.datasources).toHaveLength(4);
    for (const ds of body.datasources) expect(ds).toMatchObject({ label: 'Untitled', chunks: 1 });

    const found = await search('faq', { q: 'I forgot my password, how can I reset it?', k: '2' });
    expect(found.status).toBe(200);
    expect(found.body.results).toHaveLength(2);
    expect(found.body.results[0].text).toContain('change your password');
    expect(found.body.results[0].score).toBeGreaterThan(found.body.results[1].score);
    expect(found.body.results[0]).not.toHaveProperty('values');

    const billing = await search('faq', { q: 'when do I get my bill?' });
    expect(billing.body.results[0].text).toContain('Invoices');
    expect(billing.body.results).toHaveLength(4);
  });

  it('stores a datasource with id, label and metadata, and filters a search by its metadata', async () => {
    const docs = [
      { id: 'en-cats', text: 'Cats sleep for most of the day.', metadata: { lang: 'en', topic: 'pets' } },
      { id: 'en-rain', text: 'It will rain tomorrow afternoon.', metadata: { lang: 'en', topic: 'weather' } },
      { id: 'de-cats', text: 'Katzen schlafen den größten Teil des Tages.', metadata: { lang: 'de', topic: 'pets' } },
    ];
    for (const doc of docs) {
      const res = await post('docs', { ...doc, label: `doc ${doc.id}` });
      expect(res.status).toBe(201);
      expect(JSON.parse(res.body.toString()).datasources).toEqual([{ id: doc.id, label: `doc ${doc.id}`, chunks: 1 }]);
    }
    const all = await search('docs', { q: 'how long do kittens nap', k: '3' });
    expect(all.body.results[0].metadata).toEqual({ lang: 'en', topic: 'pets' });
    const weather = await search('docs', {
      q: 'how long do kittens nap',
      filter: JSON.stringify({ topic: 'weather' }),
    });
    expect(weather.body.results.map((r: { text: string }) => r.text)).toEqual(['It will rain tomorrow afternoon.']);
    const german = await search('docs', {
      q: 'cats',
      filter: JSON.stringify({ lang: { $in: ['de'] }, topic: 'pets' }),
    });
    expect(german.body.results).toHaveLength(1);
    expect(german.body.results[0].metadata).toEqual({ lang: 'de', topic: 'pets' });
    // the same id again replaces the datasource
    expect((await post('docs', { id: 'en-rain', text: 'Sunny all week.', metadata: { lang: 'en' } })).status).toBe(201);
    const replaced = await search('docs', { q: 'weather forecast', filter: '{"lang":"en"}', k: '10' });
    expect(replaced.body.results.map((r: { text: string }) => r.text).sort()).toEqual([
      'Cats sleep for most of the day.',
      'Sunny all week.',
    ]);
  });

  it("keeps each team's namespaces to itself", async () => {
    expect((await post('secret', { texts: ['the launch code is in the blue folder'] }, 'alpha')).status).toBe(201);
    expect((await search('secret', { q: 'launch code' }, 'alpha')).body.results).toHaveLength(1);
    const other = await search('secret', { q: 'launch code' }, 'beta');
    expect(other.status).toBe(404);
  });

  it('answers bad input with 400 and a sentence, a missing namespace with 404', async () => {
    const bad: [unknown, string][] = [
      ['not json', 'the body must be JSON'],
      [[1, 2], 'the body must be a JSON object'],
      [{}, "give 'texts' (a list) or a 'text'"],
      [{ texts: [] }, 'texts: a list of 1 to 100 non-empty strings'],
      [{ texts: ['ok', 7] }, 'texts: a list of 1 to 100 non-empty strings'],
      [{ texts: ['  '] }, 'texts: a list of 1 to 100 non-empty strings'],
      [{ texts: 'one' }, 'texts: a list of 1 to 100 non-empty strings'],
      [{ text: 'x', colour: 'red' }, "unknown field 'colour' (use texts, or id, text, label, metadata)"],
      [{ texts: ['x'], label: 'l' }, "give either 'texts' or one datasource, not both"],
      [{ text: '   ' }, 'a datasource needs a non-empty text'],
      [{ text: 'x', id: 'has space' }, "a datasource id must be 1 to 128 letters, digits, '.', '_', ':' or '-'"],
      [{ text: 'x', metadata: [1] }, 'datasource metadata must be a plain object'],
    ];
    for (const [body, message] of bad) {
      const res = await post('checks', body);
      expect([body, res.status, JSON.parse(res.body.toString()).message]).toEqual([body, 400, message]);
    }
    expect((await post('checks', { texts: ['one text'] })).status).toBe(201);
    const queries: [Record<string, string>, string][] = [
      [{}, 'q: the text to search for'],
      [{ q: '  ' }, 'q: the text to search for'],
      [{ q: 'x', k: '0' }, 'k: an integer from 1 to 100'],
      [{ q: 'x', k: 'many' }, 'k: an integer from 1 to 100'],
      [{ q: 'x', k: '101' }, 'k: an integer from 1 to 100'],
      [{ q: 'x', filter: '{oops' }, 'filter: a JSON object of metadata fields'],
      [{ q: 'x', filter: '"lang"' }, 'filter must be an object of metadata fields'],
      [{ q: 'x', filter: '{"a.b":1}' }, "filter field 'a.b' must be 1-64 of A-Z a-z 0-9 _"],
      [
        { q: 'x', filter: '{"n":null}' },
        "filter field 'n' must be a string, finite number or boolean, or { $in: [1-100 of them] }",
      ],
    ];
    for (const [query, message] of queries) {
      const res = await search('checks', query);
      expect([query, res.status, res.body.message]).toEqual([query, 400, message]);
    }
    const twice = await rawRequest(app().baseUrl, 'GET', '/vectors/checks/search?q=x&k=1&k=2');
    expect(twice.status).toBe(400);
    expect((await search('never-created', { q: 'anything' })).status).toBe(404);
  });
}

/**
 * The example app's /vectors routes on its embedded defaults (RAMVec with local embeddings), the
 * app module built in this process (the routes are also what `npm start` serves).
 */
describe('example app: /vectors (in process)', () => {
  let app: InProcessApp;

  beforeAll(async () => {
    app = await startExampleAppInProcess('sre-vectors-e2e-');
  });

  afterAll(() => app?.stop());

  jest.setTimeout(60_000);
  describeVectorRoutes(() => app);
});
