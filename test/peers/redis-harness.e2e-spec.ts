import * as fs from 'node:fs';
import Redis from 'ioredis';
import { RedisPeer, SentinelGroup, startRedis, startSentinelGroup, stopAllRedisPeers } from './redis';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function client(peer: { host: string; port: number }, password?: string, protocol?: 2 | 3): Redis {
  const redis = new Redis({
    host: peer.host,
    port: peer.port,
    password,
    protocol,
    lazyConnect: true,
    disconnectTimeout: 0,
    // the ready check's INFO would get NOAUTH on an unauthenticated RESP2 connection and close it
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  return redis;
}

describe('test/peers/redis harness', () => {
  const clients: Redis[] = [];
  const connect = async (peer: { host: string; port: number }, password?: string, protocol?: 2 | 3) => {
    const redis = client(peer, password, protocol);
    clients.push(redis);
    await redis.connect();
    return redis;
  };

  afterEach(() => {
    for (const redis of clients.splice(0)) redis.disconnect();
  });
  afterAll(() => stopAllRedisPeers());

  it('starts a redis on a free port that answers PING, and stop() kills it and removes its dir', async () => {
    const peer = await startRedis();
    expect(peer.host).toBe('127.0.0.1');
    expect(peer.port).toBeGreaterThan(0);
    expect(isAlive(peer.pid)).toBe(true);
    expect(fs.existsSync(peer.dir)).toBe(true);
    expect(await peer.cli('PING')).toBe('PONG');
    const redis = await connect(peer);
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
    expect(await peer.cli('GET', 'k')).toBe('v');

    await peer.stop();
    expect(isAlive(peer.pid)).toBe(false);
    expect(fs.existsSync(peer.dir)).toBe(false);
    await peer.stop(); // idempotent
    await expect(peer.cli('PING')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('gives two peers different ports', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    expect(a.port).not.toBe(b.port);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('requires the password: an unauthenticated command gets NOAUTH, cli() authenticates', async () => {
    const peer = await startRedis({ password: 's3cret' });
    expect(peer.password).toBe('s3cret');
    // ioredis 6 opens with HELLO 3, which an unauthenticated client already gets NOAUTH for: it reports the error
    // and closes the connection
    const hello = client(peer);
    clients.push(hello);
    const errors: string[] = [];
    hello.on('error', (error: Error) => errors.push(error.message));
    await expect(hello.connect()).rejects.toThrow();
    expect(errors.join('\n')).toMatch(/NOAUTH/);
    // over RESP2 (no handshake) the connection opens and the first command gets NOAUTH
    const anonymous = await connect(peer, undefined, 2);
    await expect(anonymous.get('k')).rejects.toThrow(/NOAUTH/);
    const authed = await connect(peer, 's3cret');
    await authed.set('k', 'v');
    expect(await peer.cli('GET', 'k')).toBe('v');
    await peer.stop();
  });

  it('keeps appendonly data across kill() (SIGKILL) and restart() on the same port and dir', async () => {
    const peer = await startRedis({ appendonly: true });
    const { port, dir } = peer;
    const firstPid = peer.pid;
    const redis = await connect(peer);
    await redis.set('durable', 'yes');
    await redis.rpush('list', 'a', 'b', 'c');
    redis.disconnect();

    await peer.kill();
    expect(isAlive(firstPid)).toBe(false);
    expect(fs.existsSync(dir)).toBe(true);
    await peer.kill(); // a second kill is a no-op

    await peer.restart();
    expect(peer.port).toBe(port);
    expect(peer.dir).toBe(dir);
    expect(peer.pid).not.toBe(firstPid);
    const again = await connect(peer);
    expect(await again.get('durable')).toBe('yes');
    expect(await again.lrange('list', 0, -1)).toEqual(['a', 'b', 'c']);

    // restart() while running stops first and keeps the data too
    const secondPid = peer.pid;
    await peer.restart();
    expect(isAlive(secondPid)).toBe(false);
    expect(await peer.cli('GET', 'durable')).toBe('yes');

    await peer.stop();
    await peer.stop();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('stop() after kill() removes the dir', async () => {
    const peer = await startRedis();
    await peer.kill();
    await peer.stop();
    expect(fs.existsSync(peer.dir)).toBe(false);
  });

  it('starts a replica of another peer', async () => {
    const master = await startRedis({ password: 'pw' });
    const replica = await startRedis({ password: 'pw', replicaOf: { host: master.host, port: master.port } });
    await master.cli('SET', 'replicated', '1');
    const deadline = Date.now() + 10_000;
    while ((await replica.cli('GET', 'replicated')) !== '1' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await replica.cli('GET', 'replicated')).toBe('1');
    expect(await replica.cli('ROLE')).toMatch(/^slave\n/);
    await Promise.all([replica.stop(), master.stop()]);
  });

  describe.each([undefined, 'group-pw'])('a sentinel group (password %s)', (password) => {
    let group: SentinelGroup;
    beforeAll(async () => {
      group = await startSentinelGroup({ password });
    }, 60_000);
    afterAll(() => group?.stop());

    it('fails over to the replica, and the new master takes writes', async () => {
      expect(group.masterName).toBe('sre-master');
      expect(group.sentinels).toHaveLength(3);
      expect(new Set(group.sentinels.map((s) => s.port)).size).toBe(3);
      expect(await group.masterPort()).toBe(group.master.port);
      expect(await group.replica.cli('ROLE')).toMatch(/^slave\n/);

      const viaSentinels = new Redis({
        sentinels: group.sentinels,
        name: group.masterName,
        password,
        lazyConnect: true,
        sentinelRetryStrategy: (times) => (times > 20 ? null : 250),
      });
      clients.push(viaSentinels);
      viaSentinels.on('error', () => undefined);
      await viaSentinels.connect();
      await viaSentinels.set('before', '1');

      const newPort = await group.failover();
      expect(newPort).not.toBe(group.master.port);
      expect(newPort).toBe(group.replica.port);
      expect(await group.masterPort()).toBe(newPort);

      const direct = await connect({ host: '127.0.0.1', port: newPort }, password);
      expect((await direct.role())[0]).toBe('master');
      await direct.set('after', '2');
      expect(await direct.get('before')).toBe('1');
      expect(await direct.get('after')).toBe('2');
    }, 60_000);

    it('stop() stops every process of the group and is idempotent', async () => {
      const pids = [group.master.pid, group.replica.pid];
      const dirs = [group.master.dir, group.replica.dir];
      await group.stop();
      await group.stop();
      for (const pid of pids) expect(isAlive(pid)).toBe(false);
      for (const dir of dirs) expect(fs.existsSync(dir)).toBe(false);
      for (const sentinel of group.sentinels) {
        const redis = client(sentinel);
        clients.push(redis);
        await expect(redis.connect()).rejects.toThrow(/ECONNREFUSED|Connection is closed/);
      }
    }, 30_000);
  });

  it('stopAllRedisPeers() stops every running peer and removes the dirs of killed ones', async () => {
    const running: RedisPeer = await startRedis();
    const killed: RedisPeer = await startRedis();
    await killed.kill();
    await stopAllRedisPeers();
    expect(isAlive(running.pid)).toBe(false);
    expect(fs.existsSync(running.dir)).toBe(false);
    expect(fs.existsSync(killed.dir)).toBe(false);
    await running.stop(); // still idempotent afterwards
  });
});
