import { validateSettings } from '../../core/settings';
import { describeRouterBackend } from '../router.contract';
import { MemoryRouterBackend, MemoryRouterSettings } from './memory-router.backend';

describeRouterBackend('MemoryRouter', () => new MemoryRouterBackend(), {
  dispatch: (backend, method, url) => backend.dispatch(method, url),
});

describe('MemoryRouterBackend', () => {
  it('records registrations in order, middleware as method *', () => {
    const backend = new MemoryRouterBackend({ baseUrl: 'http://localhost:3000' });
    const handler = () => undefined;
    backend.addRoute('get', '/a', [handler]);
    backend.addMiddleware(undefined, [handler]);
    backend.addMiddleware('/b', [handler]);
    expect(backend.routes).toEqual([
      { method: 'get', path: '/a', handlers: [handler] },
      { method: '*', handlers: [handler] },
      { method: '*', path: '/b', handlers: [handler] },
    ]);
    expect(backend.baseUrl()).toBe('http://localhost:3000');
  });

  it('gives handlers the query, headers and body, and records status, headers and body', async () => {
    const backend = new MemoryRouterBackend();
    backend.addRoute('post', '/echo', [
      (req, res) => res.status(201).setHeader('X-Seen', req.headers['x-in']).json({ q: req.query.q, body: req.body }),
    ]);
    expect(await backend.dispatch('post', '/echo?q=1', { headers: { 'X-In': 'yes' }, body: { a: 1 } })).toEqual({
      statusCode: 201,
      headers: { 'x-seen': 'yes', 'content-type': 'application/json' },
      body: { q: '1', body: { a: 1 } },
      handled: true,
    });
  });

  it('stops at the first handler that ends the response or does not pass on', async () => {
    const backend = new MemoryRouterBackend();
    const later = jest.fn();
    backend.addMiddleware(undefined, [(_req, res, next) => (res.end('early'), next())]);
    backend.addRoute('get', '/a', [later]);
    expect(await backend.dispatch('get', '/a')).toMatchObject({ statusCode: 200, body: 'early', handled: true });
    expect(later).not.toHaveBeenCalled();
  });

  it('answers 500 with the error a handler threw or passed to next', async () => {
    const backend = new MemoryRouterBackend();
    const boom = new Error('boom');
    backend.addRoute('get', '/throw', [
      () => {
        throw boom;
      },
    ]);
    backend.addRoute('get', '/next', [(_req, _res, next) => next(boom)]);
    backend.addRoute('get', '/reject', [async () => Promise.reject(boom)]);
    for (const path of ['/throw', '/next', '/reject'])
      expect(await backend.dispatch('get', path)).toMatchObject({ statusCode: 500, error: boom, handled: true });
  });

  it('answers 404, unhandled, when every handler passes on', async () => {
    const backend = new MemoryRouterBackend();
    backend.addMiddleware(undefined, [(_req, _res, next) => next()]);
    expect(await backend.dispatch('get', '/x')).toMatchObject({ statusCode: 404, handled: false });
  });

  it('validates its settings', () => {
    expect(validateSettings(MemoryRouterSettings, { baseUrl: 'http://localhost:8080/sre' }, 's').problems).toEqual([]);
    expect(validateSettings(MemoryRouterSettings, { baseUrl: 'localhost' }, 's').problems).toEqual([
      expect.stringContaining('s.baseUrl'),
    ]);
  });
});
