import { backendOf, describeSubsystemModule } from '../testing/subsystem-module.testkit';
import { MemoryRouterBackend } from '../testing/backends/memory-router.backend';
import { RouterService } from './router.service';
import { InjectRouter, ROUTER, RouterModule } from './router.module';

describe('RouterModule', () => {
  const { useConnector } = describeSubsystemModule<MemoryRouterBackend, RouterService>(
    ROUTER,
    RouterModule,
    InjectRouter,
    {
      connector: MemoryRouterBackend,
      planned: [],
      available: ['ExpressRouter', 'NullRouter'],
      unknownName: 'Koa',
    },
  );

  describe('over a custom backend', () => {
    const router = useConnector();

    it('mounts routes on the backend the module built, and serves them', async () => {
      const service = router();
      expect(service).toBeInstanceOf(RouterService);
      expect(service.baseUrl).toBe('http://memory.local');
      service.get('/a', (_req, res: { send(body: unknown): unknown }) => res.send('got a'));
      expect(await backendOf<MemoryRouterBackend>(service).dispatch('get', '/a')).toMatchObject({
        statusCode: 200,
        body: 'got a',
      });
    });
  });
});
