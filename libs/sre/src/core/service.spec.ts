import * as path from 'node:path';
import { ConnectorContext, createConnectorContext, MaybePromise, SreBackend } from './backend';
import { SreBackendError, SreError, SreInvalidInputError, SreNotFoundError, SreUnavailableError } from './errors';
import { SreService } from './service';

interface DemoBackend extends SreBackend {
  read(key: string): MaybePromise<string>;
}

/** An in-memory backend that can be told to fail or to wait at each lifecycle step. */
class DemoMemoryBackend implements DemoBackend {
  connects = 0;
  disconnects = 0;
  pings = 0;
  reads = 0;
  failConnect = 0;
  connectError: unknown = new Error('refused by db.internal with password hunter2-secret');
  disconnectError?: Error;
  pingError?: unknown;
  readError?: unknown;
  /** Answers reads with a promise instead of a plain value. */
  asyncReads = false;
  gate?: Promise<void>;

  async connect(): Promise<void> {
    this.connects++;
    if (this.gate) await this.gate;
    if (this.failConnect > 0) {
      this.failConnect--;
      throw this.connectError;
    }
  }

  async disconnect(): Promise<void> {
    this.disconnects++;
    if (this.disconnectError) throw this.disconnectError;
  }

  async ping(): Promise<void> {
    this.pings++;
    if (this.pingError !== undefined) throw this.pingError;
  }

  read(key: string): MaybePromise<string> {
    this.reads++;
    if (this.readError !== undefined) {
      if (this.asyncReads) return Promise.reject(this.readError);
      throw this.readError;
    }
    return this.asyncReads ? Promise.resolve(`value of ${key}`) : `value of ${key}`;
  }
}

class DemoService extends SreService<DemoBackend> {
  read(key: string): MaybePromise<string> {
    return this.call('reading x', () => this.backend.read(key));
  }

  fail(error: unknown): SreError {
    return this.wrap(error, 'reading x');
  }

  get ctx(): ConnectorContext {
    return this.context;
  }
}

function make(instance = 'default', secrets: string[] = ['hunter2-secret']): [DemoService, DemoMemoryBackend] {
  const backend = new DemoMemoryBackend();
  const context = createConnectorContext({ subsystem: 'Demo', connector: 'Mem', instance, secrets });
  return [new DemoService(backend, context), backend];
}

describe('createConnectorContext', () => {
  it('fills defaults and keeps what it is given', () => {
    const context = createConnectorContext({ subsystem: 'Cache', connector: 'RAM', dataDir: '/tmp/sre-x' });
    expect(context).toMatchObject({
      subsystem: 'Cache',
      connector: 'RAM',
      instance: 'default',
      dataDir: '/tmp/sre-x',
      deps: {},
      secrets: [],
    });
    expect(context.logger).toBeDefined();
    const defaults = createConnectorContext({ subsystem: 'Cache', connector: 'RAM', instance: 'hot' });
    expect(path.isAbsolute(defaults.dataDir)).toBe(true);
    expect(defaults.instance).toBe('hot');
  });

  it('takes the data folder from SRE_DATA_DIR when none is given', () => {
    const saved = process.env.SRE_DATA_DIR;
    process.env.SRE_DATA_DIR = '/tmp/sre-from-env';
    try {
      expect(createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }).dataDir).toBe('/tmp/sre-from-env');
    } finally {
      if (saved === undefined) delete process.env.SRE_DATA_DIR;
      else process.env.SRE_DATA_DIR = saved;
    }
  });
});

describe('SreService', () => {
  it('builds a default context from the class names when used outside Nest', () => {
    const service = new DemoService(new DemoMemoryBackend());
    expect(service.subsystem).toBe('Demo');
    expect(service.connectorName).toBe('DemoMemoryBackend');
    expect(service.instanceName).toBe('default');
    expect(service.state).toBe('created');
    expect(service.ctx).toMatchObject({ deps: {}, secrets: [] });
  });

  it('keeps the context it is given', () => {
    const context = createConnectorContext({ subsystem: 'Cache', connector: 'Mine', instance: 'hot' });
    const service = new DemoService(new DemoMemoryBackend(), context);
    expect(service.ctx).toBe(context);
    expect([service.subsystem, service.connectorName, service.instanceName]).toEqual(['Cache', 'Mine', 'hot']);
  });

  it('connects once for concurrent callers and becomes ready', async () => {
    const [service, backend] = make();
    let open!: () => void;
    backend.gate = new Promise((resolve) => (open = resolve));
    const all = Promise.all([service.connect(), service.connect(), service.read('a')]);
    expect(service.state).toBe('connecting');
    open();
    await expect(all).resolves.toEqual([undefined, undefined, 'value of a']);
    expect(backend.connects).toBe(1);
    expect(service.state).toBe('ready');
    await service.connect();
    expect(backend.connects).toBe(1);
  });

  it('wraps a failed connect (secrets scrubbed, cause kept) and allows another attempt', async () => {
    const [service, backend] = make();
    backend.failConnect = 1;
    const error = await service.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreBackendError);
    expect((error as Error).message).toBe('Demo(Mem): connect failed: refused by db.internal with password ***');
    expect((error as Error).cause).toBe(backend.connectError);
    expect(error).toMatchObject({ subsystem: 'Demo', connector: 'Mem' });
    expect(service.state).toBe('created');
    await service.connect();
    expect(service.state).toBe('ready');
    expect(backend.connects).toBe(2);
  });

  it('connects a backend that has no connect()', async () => {
    const service = new DemoService({ read: () => 'x' });
    await service.connect();
    expect(service.state).toBe('ready');
    await expect(service.disconnect()).resolves.toBeUndefined();
    await expect(service.ping()).rejects.toThrow(SreUnavailableError);
  });

  it('passes typed errors through wrap, giving one without a source the service’s', async () => {
    const [service, backend] = make();
    const typed = new SreInvalidInputError('bad');
    backend.failConnect = 1;
    backend.connectError = typed;
    await expect(service.connect()).rejects.toBe(typed);
    expect(typed).toMatchObject({ subsystem: 'Demo', connector: 'Mem', message: 'bad' });
    const foreign = new SreNotFoundError('no such team', { subsystem: 'Account', connector: 'DummyAccount' });
    expect(service.fail(foreign)).toBe(foreign);
    expect(foreign).toMatchObject({ subsystem: 'Account', connector: 'DummyAccount' });
    expect(service.fail('plain hunter2-secret').message).toBe('Demo(Mem): reading x: plain ***');
  });

  it('reads the message of an error from another realm (not instanceof Error here)', () => {
    const [service] = make();
    const wrapped = service.fail({ message: 'from a worker, key hunter2-secret' });
    expect(wrapped).toBeInstanceOf(SreBackendError);
    expect(wrapped.message).toBe('Demo(Mem): reading x: from a worker, key ***');
  });

  it('labels named instances', () => {
    const [service] = make('archive');
    expect(service.fail(new Error('x')).message).toBe('Demo(Mem)[archive]: reading x: x');
  });

  it('disconnects once and refuses work afterwards', async () => {
    const [service, backend] = make('archive');
    await service.connect();
    await Promise.all([service.disconnect(), service.disconnect()]);
    await service.disconnect();
    expect(backend.disconnects).toBe(1);
    expect(service.state).toBe('closed');
    expect(() => service.read('a')).toThrow(new SreUnavailableError('Demo(Mem)[archive] is shutting down'));
    await expect(service.connect()).rejects.toThrow(SreUnavailableError);
    await expect(service.ping()).rejects.toThrow('Demo(Mem)[archive] is closed');
    expect(backend.reads).toBe(0);
  });

  it('is closed even when backend.disconnect fails, and the failure is reported once, wrapped', async () => {
    const [service, backend] = make();
    backend.disconnectError = new Error('socket already gone (hunter2-secret)');
    const first = await service.disconnect().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(SreBackendError);
    expect((first as Error).message).toBe('Demo(Mem): disconnect failed: socket already gone (***)');
    await expect(service.disconnect()).rejects.toBe(first);
    expect(backend.disconnects).toBe(1);
    expect(service.state).toBe('closed');
  });

  it('stays closed when a connect in progress finishes after disconnect (the backend is told to close at once)', async () => {
    const [service, backend] = make();
    let open!: () => void;
    backend.gate = new Promise((resolve) => (open = resolve));
    const connecting = service.connect();
    const closing = service.disconnect();
    // not held up by the connect: closing is what stops a client that keeps retrying
    await closing;
    expect(backend.disconnects).toBe(1);
    open();
    await connecting;
    expect(service.state).toBe('closed');
    expect(() => service.read('a')).toThrow(SreUnavailableError);
  });

  it('refuses new work while draining', async () => {
    const [service, backend] = make();
    await service.connect();
    service.drain();
    expect(service.state).toBe('draining');
    expect(() => service.read('a')).toThrow(SreUnavailableError);
    await expect(service.connect()).rejects.toThrow(SreUnavailableError);
    expect(backend.reads).toBe(0);
    await service.disconnect();
    service.drain();
    expect(service.state).toBe('closed');
  });

  it('connects lazily on first use via call()', async () => {
    const [service, backend] = make();
    const first = service.read('a');
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toBe('value of a');
    expect(backend.connects).toBe(1);
    expect(service.state).toBe('ready');
  });

  it('fails the first use when the lazy connect fails, and connects on the next one', async () => {
    const [service, backend] = make();
    backend.failConnect = 1;
    await expect(service.read('a')).rejects.toThrow('Demo(Mem): connect failed: refused by db.internal');
    expect(backend.reads).toBe(0);
    await expect(service.read('a')).resolves.toBe('value of a');
  });

  it('keeps a synchronous backend answer synchronous once ready', async () => {
    const [service, backend] = make();
    await service.connect();
    expect(service.read('a')).toBe('value of a');
    backend.asyncReads = true;
    const answer = service.read('b');
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).resolves.toBe('value of b');
  });

  it('wraps what an operation throws or rejects with, synchronously or not', async () => {
    const [service, backend] = make();
    await service.connect();
    backend.readError = new Error('disk full near hunter2-secret');
    expect(() => service.read('a')).toThrow(SreBackendError);
    expect(() => service.read('a')).toThrow('Demo(Mem): reading x: disk full near ***');
    backend.asyncReads = true;
    const rejected = await (service.read('a') as Promise<string>).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(SreBackendError);
    expect((rejected as Error).message).toBe('Demo(Mem): reading x: disk full near ***');
    expect((rejected as Error).cause).toBe(backend.readError);
    const typed = new SreNotFoundError('no such key');
    backend.readError = typed;
    await expect(service.read('a')).rejects.toBe(typed);
  });

  it('pings through backend.ping, wrapping its failure with secrets scrubbed', async () => {
    const [service, backend] = make();
    await service.ping();
    expect(backend.pings).toBe(1);
    backend.pingError = new Error('NOAUTH hunter2-secret');
    const error = await service.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreBackendError);
    expect((error as Error).message).toBe('Demo(Mem): ping failed: NOAUTH ***');
    expect(backend.pings).toBe(2);
  });
});
