import type { RunningApp } from './app-process';
import { generatedStream, rawRequest, streamUpload } from './http';

/**
 * The example app's /cache and /kv routes, driven over HTTP: run against every configuration of
 * the app (embedded defaults, Redis) with the same expectations.
 */
export function describeCacheAndKVRoutes(app: () => RunningApp): void {
  it('cache: PUT, GET, DELETE with a TTL', async () => {
    expect((await rawRequest(app().baseUrl, 'PUT', '/cache/greeting?ttl=60', { body: 'hi' })).status).toBe(204);
    const got = await rawRequest(app().baseUrl, 'GET', '/cache/greeting');
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('hi');
    expect(
      (await rawRequest(app().baseUrl, 'GET', '/cache/greeting', { headers: { 'x-sre-team': 'rival' } })).status,
    ).toBe(403);
    expect((await rawRequest(app().baseUrl, 'PUT', '/cache/greeting?ttl=-5', { body: 'x' })).status).toBe(400);
    expect((await rawRequest(app().baseUrl, 'DELETE', '/cache/greeting')).status).toBe(204);
    expect((await rawRequest(app().baseUrl, 'GET', '/cache/greeting')).status).toBe(404);
  });

  it('cache entries expire after their TTL', async () => {
    expect((await rawRequest(app().baseUrl, 'PUT', '/cache/short?ttl=1', { body: 'soon gone' })).status).toBe(204);
    expect((await rawRequest(app().baseUrl, 'GET', '/cache/short')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect((await rawRequest(app().baseUrl, 'GET', '/cache/short')).status).toBe(404);
  });

  it('serves cache values as text/plain with nosniff, never as HTML', async () => {
    const html = '<script>alert(document.cookie)</script>';
    expect(
      (await rawRequest(app().baseUrl, 'PUT', '/cache/xss', { body: html, headers: { 'content-type': 'text/html' } }))
        .status,
    ).toBe(204);
    const got = await rawRequest(app().baseUrl, 'GET', '/cache/xss', { headers: { accept: 'text/html' } });
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe(html);
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    // an error answer stays JSON
    const missing = await rawRequest(app().baseUrl, 'GET', '/cache/no-such-key');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toContain('application/json');
    expect((await rawRequest(app().baseUrl, 'DELETE', '/cache/xss')).status).toBe(204);
  });

  it('kv: PUT, GET, list and DELETE a JSON value', async () => {
    const value = { name: 'Ada', tags: ['x', 'y'], nested: { n: 1.5, ok: true, none: null } };
    const put = await rawRequest(app().baseUrl, 'PUT', '/kv/profiles/ada', {
      body: JSON.stringify(value),
      headers: { 'content-type': 'application/json' },
    });
    expect(put.status).toBe(204);
    const got = await rawRequest(app().baseUrl, 'GET', '/kv/profiles/ada');
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toContain('application/json');
    expect(JSON.parse(got.body.toString())).toEqual(value);
    // a bare JSON string comes back as JSON, never as text/html
    expect((await rawRequest(app().baseUrl, 'PUT', '/kv/profiles/motto', { body: '"<b>hi</b>"' })).status).toBe(204);
    const motto = await rawRequest(app().baseUrl, 'GET', '/kv/profiles/motto');
    expect(motto.headers['content-type']).toContain('application/json');
    expect(JSON.parse(motto.body.toString())).toBe('<b>hi</b>');
    expect((await rawRequest(app().baseUrl, 'PUT', '/kv/profiles/nothing', { body: 'null' })).status).toBe(204);
    const nothing = await rawRequest(app().baseUrl, 'GET', '/kv/profiles/nothing');
    expect([nothing.status, nothing.body.toString()]).toEqual([200, 'null']);
    const list = await rawRequest(app().baseUrl, 'GET', '/kv/profiles');
    expect(list.status).toBe(200);
    const listed = JSON.parse(list.body.toString());
    expect(listed.namespace).toBe('profiles');
    expect([...listed.entries].sort((a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key))).toEqual([
      { key: 'ada', value },
      { key: 'motto', value: '<b>hi</b>' },
      { key: 'nothing', value: null },
    ]);
    expect((await rawRequest(app().baseUrl, 'DELETE', '/kv/profiles/ada')).status).toBe(204);
    expect((await rawRequest(app().baseUrl, 'GET', '/kv/profiles/ada')).status).toBe(404);
    // deleting a missing key is a no-op
    expect((await rawRequest(app().baseUrl, 'DELETE', '/kv/profiles/ada')).status).toBe(204);
    expect((await rawRequest(app().baseUrl, 'GET', '/kv/empty-namespace')).body.toString()).toBe(
      '{"namespace":"empty-namespace","entries":[]}',
    );
  });

  it("kv: another team sees its own namespaces, never the first team's", async () => {
    const acme = { 'x-sre-team': 'acme' };
    const rival = { 'x-sre-team': 'rival' };
    expect(
      (await rawRequest(app().baseUrl, 'PUT', '/kv/plans/q3', { body: '{"secret":1}', headers: acme })).status,
    ).toBe(204);
    expect((await rawRequest(app().baseUrl, 'GET', '/kv/plans/q3', { headers: rival })).status).toBe(404);
    expect(
      JSON.parse((await rawRequest(app().baseUrl, 'GET', '/kv/plans', { headers: rival })).body.toString()),
    ).toEqual({
      namespace: 'plans',
      entries: [],
    });
    // the rival's writes and deletes land in its own namespace
    expect((await rawRequest(app().baseUrl, 'PUT', '/kv/plans/q3', { body: '"defaced"', headers: rival })).status).toBe(
      204,
    );
    expect((await rawRequest(app().baseUrl, 'DELETE', '/kv/plans/q3', { headers: rival })).status).toBe(204);
    const mine = await rawRequest(app().baseUrl, 'GET', '/kv/plans/q3', { headers: acme });
    expect([mine.status, JSON.parse(mine.body.toString())]).toEqual([200, { secret: 1 }]);
    // and the default team does not see it either
    expect((await rawRequest(app().baseUrl, 'GET', '/kv/plans/q3')).status).toBe(404);
  });

  it('kv: a bad namespace or key is a 400', async () => {
    for (const [method, target] of [
      ['GET', '/kv/ns/a%00b'],
      ['PUT', '/kv/ns/a%01b'],
      ['DELETE', '/kv/ns/a%7Fb'],
      ['GET', '/kv/n%00s/key'],
      ['GET', '/kv/n%0As'],
      ['PUT', `/kv/ns/${'k'.repeat(1025)}`],
      ['GET', `/kv/${'n'.repeat(257)}/key`],
      ['GET', '/kv/ns/%E0%A4%A'],
    ]) {
      const res = await rawRequest(app().baseUrl, method, target, { body: method === 'PUT' ? '1' : undefined });
      expect([method, target.slice(0, 40), res.status]).toEqual([method, target.slice(0, 40), 400]);
      expect(res.headers['content-type']).toContain('application/json');
    }
  });

  it('kv: invalid JSON is a 400, a body over 1 MB a 413, and nothing is stored', async () => {
    for (const body of ['', '{"a":', 'undefined', "{'a':1}", 'NaN']) {
      const res = await rawRequest(app().baseUrl, 'PUT', '/kv/bad/value', { body });
      expect([body, res.status]).toEqual([body, 400]);
      expect(JSON.parse(res.body.toString()).message).toBe('the body must be a JSON value');
    }
    const tooLarge = JSON.stringify('a'.repeat(1024 * 1024));
    expect((await rawRequest(app().baseUrl, 'PUT', '/kv/bad/value', { body: tooLarge })).status).toBe(413);
    // without Content-Length (chunked): refused once past the limit, the rest drained
    const chunked = await streamUpload(app().baseUrl, '/kv/bad/value', generatedStream(4 * 1024 * 1024).stream);
    expect(chunked.status).toBe(413);
    expect((await rawRequest(app().baseUrl, 'GET', '/kv/bad/value')).status).toBe(404);
    // exactly at the limit is accepted
    const atLimit = JSON.stringify('a'.repeat(1024 * 1024 - 2));
    expect((await rawRequest(app().baseUrl, 'PUT', '/kv/bad/value', { body: atLimit })).status).toBe(204);
    expect(JSON.parse((await rawRequest(app().baseUrl, 'GET', '/kv/bad/value')).body.toString())).toHaveLength(
      1024 * 1024 - 2,
    );
    expect((await rawRequest(app().baseUrl, 'DELETE', '/kv/bad/value')).status).toBe(204);
  });
}
