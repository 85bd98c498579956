import { Redis } from 'ioredis';
import { startRedis, type RedisPeer, type StartRedisOptions } from './redis';

/**
 * A `redis-server` for the tests of one file: started before them, stopped after, with a plain
 * ioredis client beside it to look at what the connectors wrote.
 */
export function useRedisPeer(options: StartRedisOptions = {}): {
  peer: () => RedisPeer;
  raw: () => Redis;
  hosts: () => string;
} {
  let peer: RedisPeer | undefined;
  let raw: Redis | undefined;
  beforeAll(async () => {
    peer = await startRedis(options);
    raw = new Redis({ host: peer.host, port: peer.port, password: options.password, lazyConnect: true });
    await raw.connect();
  }, 60_000);
  afterAll(async () => {
    raw?.disconnect();
    await peer?.stop();
  });
  const running = () => {
    if (!peer) throw new Error('the Redis peer runs only while the tests of this file do');
    return peer;
  };
  return { peer: running, raw: () => raw!, hosts: () => `${running().host}:${running().port}` };
}
