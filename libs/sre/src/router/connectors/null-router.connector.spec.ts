import { Logger } from '@nestjs/common';
import { createConnectorContext } from '../../core/backend';
import { describeRouterBackend } from '../../testing/router.contract';
import { RouterService } from '../router.service';
import { NULL_ROUTER_BASE_URL, NullRouterConnector } from './null-router.connector';

// no `dispatch`: NullRouter serves nothing, so the suite checks registration only
describeRouterBackend('NullRouter', () => new NullRouterConnector());

describe('NullRouter', () => {
  const context = createConnectorContext({ subsystem: 'Router', connector: 'NullRouter' });

  it("answers the original's base URL", () => {
    expect(new NullRouterConnector().baseUrl()).toBe('http://nullrouter.local');
    expect(NULL_ROUTER_BASE_URL).toBe('http://nullrouter.local');
    expect(new RouterService(new NullRouterConnector(), context).baseUrl).toBe('http://nullrouter.local');
  });

  it('accepts every route and middleware through the service, and drops them with a debug line', () => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    try {
      const router = new RouterService(new NullRouterConnector({}, context), context);
      const handler = jest.fn();
      expect(router.get('/a', handler).post('/a', handler).put('/b', handler).delete('/b', handler)).toBe(router);
      expect(router.use('/api', handler).useFn(handler, handler)).toBe(router);
      expect(handler).not.toHaveBeenCalled();
      const lines = debug.mock.calls.map(([line]) => String(line));
      expect(lines).toHaveLength(6);
      expect(lines[0]).toBe('ignored GET /a (1 handler(s)): NullRouter serves nothing');
      expect(lines[5]).toBe('ignored middleware under every path (2 handler(s)): NullRouter serves nothing');
    } finally {
      debug.mockRestore();
    }
  });
});
