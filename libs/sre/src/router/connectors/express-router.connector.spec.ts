import { Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import express from 'express';
import request from 'supertest';
import { createConnectorContext } from '../../core/backend';
import { validateSettings } from '../../core/settings';
import { describeRouterBackend, type RouterDispatchResult } from '../../testing/router.contract';
import type { RouteMethod } from '../router.backend';
import { RouterModule } from '../router.module';
import { RouterService } from '../router.service';
import {
  ExpressRouterConnector,
  ExpressRouterSettings,
  type ExpressRouterDeps,
  type ExpressRouterTarget,
} from './express-router.connector';

async function send(app: ExpressRouterTarget, method: RouteMethod, url: string): Promise<RouterDispatchResult> {
  const response = await request(app as express.Express)[method](url);
  return { statusCode: response.status, body: response.type === 'application/json' ? response.body : response.text };
}

// an Express application given in the settings, requests through supertest
describeRouterBackend(
  'ExpressRouter',
  () => new ExpressRouterConnector({ router: express(), baseUrl: 'http://localhost:3000' }),
  { dispatch: (backend, method, url) => send(backend.getRouter()!, method, url) },
);

// an Express Router() mounted in an application
const apps = new WeakMap<ExpressRouterConnector, express.Express>();
describeRouterBackend(
  'ExpressRouter over Router()',
  () => {
    const router = express.Router();
    const backend = new ExpressRouterConnector({ router });
    apps.set(backend, express().use(router));
    return backend;
  },
  { dispatch: (backend, method, url) => send(apps.get(backend)!, method, url) },
);

const context = (deps: ExpressRouterDeps = {}) =>
  createConnectorContext<ExpressRouterDeps>({ subsystem: 'Router', connector: 'ExpressRouter', deps });

describe('ExpressRouter settings', () => {
  it('accepts an Express app or Router(), kept as the same object', () => {
    const app = express();
    const router = express.Router();
    const custom = { use: () => undefined, get: () => undefined, marker: {} };
    for (const given of [app, router, custom]) {
      const { settings, problems } = validateSettings(ExpressRouterSettings, { router: given }, 'Router.Settings');
      expect(problems).toEqual([]);
      expect(settings.router).toBe(given);
    }
  });

  it('refuses a router without use/get functions, never repeating it', () => {
    for (const bad of [{}, 'my-secret-router', 42, { use: 'x', get: () => undefined }, [], null]) {
      const { problems } = validateSettings(ExpressRouterSettings, { router: bad }, 'Router.Settings');
      if (bad === null) continue; // null is "absent" for IsOptional
      expect(problems).toEqual([
        'Router.Settings.router: must be an Express Router or application (an object with use and get functions)',
      ]);
      expect(problems.join()).not.toContain('my-secret-router');
    }
  });

  it("refuses the seed's JSON placeholder `router: {}`, accepts its path baseUrl, and refuses other URLs", () => {
    const seed = validateSettings(ExpressRouterSettings, { router: {}, baseUrl: '/api' }, 'Router.Settings');
    expect(seed.problems).toEqual([
      'Router.Settings.router: must be an Express Router or application (an object with use and get functions)',
    ]);
    for (const ok of ['/api', '/', 'https://files.example.com/sre', 'http://localhost:3000'])
      expect(validateSettings(ExpressRouterSettings, { baseUrl: ok }, 'R').problems).toEqual([]);
    for (const bad of ['api', 'ftp://x.example.com', '', 'not a url', 42])
      expect(validateSettings(ExpressRouterSettings, { baseUrl: bad }, 'R').problems).toEqual([
        "R.baseUrl: must be an absolute http(s) URL or a path starting with '/'",
      ]);
    expect(validateSettings(ExpressRouterSettings, { routr: express() }, 'R').problems).toEqual([
      'R.routr: unknown setting',
    ]);
  });

  it('refuses a bad router or base URL when built directly', () => {
    expect(() => new ExpressRouterConnector({ router: {} })).toThrow('router must be an Express Router');
    expect(() => new ExpressRouterConnector({ baseUrl: 'api' })).toThrow('baseUrl must be');
  });
});

describe('ExpressRouter', () => {
  it('answers the configured base URL, a path under the origin, or http://localhost', () => {
    const router = express.Router();
    expect(new ExpressRouterConnector({ router, baseUrl: 'https://files.example.com/sre' }).baseUrl()).toBe(
      'https://files.example.com/sre',
    );
    expect(new ExpressRouterConnector({ router, baseUrl: '/api/' }).baseUrl()).toBe('http://localhost/api');
    expect(new ExpressRouterConnector({ router }).baseUrl()).toBe('http://localhost');
    expect(new RouterService(new ExpressRouterConnector({ router }), context()).baseUrl).toBe('http://localhost');
  });

  it('mounts routes on the given router at registration time', async () => {
    const app = express();
    const router = new RouterService(new ExpressRouterConnector({ router: app }), context());
    router.get('/now', (_req, res: express.Response) => res.json({ now: true }));
    expect(await send(app, 'get', '/now')).toEqual({ statusCode: 200, body: { now: true } });
  });

  it('keeps registrations made before the app adapter is set, and mounts them in order once it is', async () => {
    const host = new HttpAdapterHost();
    const backend = new ExpressRouterConnector({}, context({ http: host }));
    backend.addMiddleware(undefined, [(req: { marks?: string[] }, _res, next) => ((req.marks = ['mw']), next())]);
    backend.addRoute('get', '/early', [(req: { marks: string[] }, res: express.Response) => res.json(req.marks)]);
    expect(backend.getRouter()).toBeUndefined();
    const app = express();
    host.httpAdapter = { getInstance: () => app, getType: () => 'express' } as never;
    expect(backend.getRouter()).toBe(app);
    backend.addRoute('get', '/late', [(_req, res: express.Response) => res.send('late')]);
    expect(await send(app, 'get', '/early')).toEqual({ statusCode: 200, body: ['mw'] });
    expect(await send(app, 'get', '/late')).toEqual({ statusCode: 200, body: 'late' });
    await backend.disconnect();
  });

  it('warns at shutdown about what was never mounted (no HTTP server), and works outside Nest', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      for (const backend of [
        new ExpressRouterConnector({}, context({ http: new HttpAdapterHost() })),
        new ExpressRouterConnector(),
      ]) {
        await backend.connect();
        backend.addRoute('get', '/a', [() => undefined]);
        expect(backend.getRouter()).toBeUndefined();
        expect(backend.baseUrl()).toBe('http://localhost');
        await backend.disconnect();
      }
      expect(warn.mock.calls.map(([line]) => String(line))).toEqual([
        '1 registration(s) were never mounted: no Express HTTP server was found',
        '1 registration(s) were never mounted: no Express HTTP server was found',
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses to mount on an application that does not run on Express, with an error line', () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const host = new HttpAdapterHost();
      host.httpAdapter = { getInstance: () => ({ register: () => undefined }), getType: () => 'fastify' } as never;
      const backend = new ExpressRouterConnector({}, context({ http: host }));
      backend.addRoute('get', '/a', [() => undefined]);
      expect(backend.getRouter()).toBeUndefined();
      expect(String(error.mock.calls[0]?.[0])).toContain('does not run on Express');
    } finally {
      error.mockRestore();
    }
  });
});

describe('ExpressRouter in a Nest application (HttpAdapterHost)', () => {
  @Injectable()
  class Files implements OnModuleInit {
    constructor(readonly router: RouterService) {
      // at construction, before the testing module's application (and its adapter) exists
      router.get('/files/:id', (req: express.Request, res: express.Response) => res.json({ id: req.params.id }));
    }

    onModuleInit(): void {
      // once the adapter is set: mounted at once
      this.router.use('/files', (_req, res: express.Response, next) => (res.setHeader('x-sre', 'yes'), next()));
      this.router.get('/status', (_req, res: express.Response) => res.send('ok'));
    }
  }

  @Module({ imports: [RouterModule.forRoot({ connector: 'ExpressRouter' })], providers: [Files] })
  class AppModule {}

  it("serves the routes on the app's own server, with the listening URL as base URL", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const server = app.getHttpServer();
      const file = await request(server).get('/files/a%20b');
      expect(file.status).toBe(200);
      expect(file.body).toEqual({ id: 'a b' });
      expect(file.headers['x-sre']).toBeUndefined(); // the route came before the middleware
      expect((await request(server).get('/status')).text).toBe('ok');
      expect((await request(server).get('/nothing')).status).toBe(404);
      const router = app.get(RouterService);
      expect(router.baseUrl).toBe('http://localhost');
      await app.listen(0);
      const { port } = server.address();
      expect(router.baseUrl).toBe(`http://localhost:${port}`);
    } finally {
      await app.close();
    }
  });

  it('takes the settings router instead, with a path base URL under the origin', async () => {
    const mine = express();
    const moduleRef = await Test.createTestingModule({
      imports: [RouterModule.forRoot({ connector: 'ExpressRouter', settings: { router: mine, baseUrl: '/api' } })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const router = app.get(RouterService);
      router.get('/mine', (_req, res: express.Response) => res.send('mine'));
      expect((await request(mine).get('/mine')).text).toBe('mine');
      expect((await request(app.getHttpServer()).get('/mine')).status).toBe(404);
      expect(router.baseUrl).toBe('http://localhost/api');
    } finally {
      await app.close();
    }
  });

  it("refuses the seed's placeholder router at boot, without repeating it", async () => {
    await expect(
      Test.createTestingModule({
        imports: [RouterModule.forRoot({ connector: 'ExpressRouter', settings: { router: {}, baseUrl: '/api' } })],
      }).compile(),
    ).rejects.toThrow('router: must be an Express Router or application');
  });
});
