import * as path from 'node:path';
import { createConnectorContext, SreConnector } from './connector';
import { SreBackendError, SreInvalidInputError, SreUnavailableError } from './errors';

class DemoConnector extends SreConnector {
  connects = 0;
  disconnects = 0;
  pings = 0;
  failConnect = 0;
  connectError: unknown = new Error('refused by db.internal with password hunter2-secret');
  disconnectError?: Error;
  gate?: Promise<void>;

  protected override async onConnect(): Promise<void> {
    this.connects++;
    if (this.gate) await this.gate;
    if (this.failConnect > 0) {
      this.failConnect--;
      throw this.connectError;
    }
  }

  protected override async onDisconnect(): Promise<void> {
    this.disconnects++;
    if (this.disconnectError) throw this.disconnectError;
  }

  protected override async onPing(): Promise<void> {
    this.pings++;
  }

  async work(): Promise<string> {
    await this.ensureReady();
    return 'done';
  }

  fail(error: unknown): Error {
    return this.wrap(error, 'reading x');
  }
}

function make(instance = 'default', secrets: string[] = ['hunter2-secret']): DemoConnector {
  return new DemoConnector(createConnectorContext({ subsystem: 'Demo', connector: 'Mem', instance, secrets }));
}

describe('SreConnector', () => {
  it('builds a default context when used outside Nest', () => {
    const connector = new DemoConnector();
    expect(connector.subsystem).toBe('Custom');
    expect(connector.connectorName).toBe('DemoConnector');
    expect(connector.instanceName).toBe('default');
    expect(connector.state).toBe('created');
  });

  it('takes the context from (settings, context), as the module factory builds connectors without a constructor', () => {
    class NoConstructor extends SreConnector {
      get ctx() {
        return this.context;
      }
    }
    const context = createConnectorContext({ subsystem: 'Cache', connector: 'Mine', instance: 'hot' });
    const built = new NoConstructor({ folder: '/x' }, context);
    expect(built.ctx).toBe(context);
    expect(built.subsystem).toBe('Cache');
    expect(built.instanceName).toBe('hot');
    expect(new NoConstructor(context).ctx).toBe(context);
    expect(new NoConstructor({}, context).connectorName).toBe('Mine');
  });

  it('completes a partial context and ignores a settings object passed alone', () => {
    class Partial extends SreConnector {
      get ctx() {
        return this.context;
      }
    }
    const partial = new Partial({ subsystem: 'Vault', connector: 'Mine' } as never);
    expect(partial.ctx).toMatchObject({
      subsystem: 'Vault',
      connector: 'Mine',
      instance: 'default',
      deps: {},
      secrets: [],
    });
    expect(partial.ctx.logger).toBeDefined();
    expect(new Partial({ folder: '/x' } as never).subsystem).toBe('Custom');
  });

  it('createConnectorContext fills defaults and keeps what it is given', () => {
    const context = createConnectorContext({ subsystem: 'Cache', connector: 'RAM', dataDir: '/tmp/sre-x' });
    expect(context).toMatchObject({
      subsystem: 'Cache',
      connector: 'RAM',
      instance: 'default',
      dataDir: '/tmp/sre-x',
      deps: {},
      secrets: [],
    });
    expect(path.isAbsolute(createConnectorContext({ subsystem: 'Cache', connector: 'RAM' }).dataDir)).toBe(true);
  });

  it('connects once for concurrent callers and becomes ready', async () => {
    const connector = make();
    let open!: () => void;
    connector.gate = new Promise((resolve) => (open = resolve));
    const both = Promise.all([connector.connect(), connector.connect(), connector.work()]);
    expect(connector.state).toBe('connecting');
    open();
    await both;
    expect(connector.connects).toBe(1);
    expect(connector.state).toBe('ready');
    await connector.connect();
    expect(connector.connects).toBe(1);
  });

  it('wraps a failed connect (secrets scrubbed, cause kept) and allows another attempt', async () => {
    const connector = make();
    connector.failConnect = 1;
    const error = await connector.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreBackendError);
    expect((error as Error).message).toBe('Demo(Mem): connect failed: refused by db.internal with password ***');
    expect((error as Error).cause).toBe(connector.connectError);
    expect(error).toMatchObject({ subsystem: 'Demo', connector: 'Mem' });
    expect(connector.state).toBe('created');
    await connector.connect();
    expect(connector.state).toBe('ready');
    expect(connector.connects).toBe(2);
  });

  it('passes typed errors through wrap unchanged', async () => {
    const connector = make();
    const typed = new SreInvalidInputError('bad');
    connector.failConnect = 1;
    connector.connectError = typed;
    await expect(connector.connect()).rejects.toBe(typed);
    expect(connector.fail(typed)).toBe(typed);
    expect(connector.fail('plain hunter2-secret').message).toBe('Demo(Mem): reading x: plain ***');
  });

  it('labels named instances', () => {
    expect(make('archive').fail(new Error('x')).message).toBe('Demo(Mem)[archive]: reading x: x');
  });

  it('disconnects once and refuses work afterwards', async () => {
    const connector = make('archive');
    await connector.connect();
    await Promise.all([connector.disconnect(), connector.disconnect()]);
    await connector.disconnect();
    expect(connector.disconnects).toBe(1);
    expect(connector.state).toBe('closed');
    await expect(connector.work()).rejects.toThrow(new SreUnavailableError('Demo(Mem)[archive] is shutting down'));
    await expect(connector.connect()).rejects.toThrow(SreUnavailableError);
    await expect(connector.ping()).rejects.toThrow(SreUnavailableError);
  });

  it('is closed even when onDisconnect fails, and the failure is reported once', async () => {
    const connector = make();
    connector.disconnectError = new Error('socket already gone');
    await expect(connector.disconnect()).rejects.toThrow('socket already gone');
    await expect(connector.disconnect()).rejects.toThrow('socket already gone');
    expect(connector.disconnects).toBe(1);
    expect(connector.state).toBe('closed');
  });

  it('refuses new work while draining', async () => {
    const connector = make();
    await connector.connect();
    connector.drain();
    expect(connector.state).toBe('draining');
    await expect(connector.work()).rejects.toThrow(SreUnavailableError);
    await expect(connector.connect()).rejects.toThrow(SreUnavailableError);
  });

  it('connects lazily on first use', async () => {
    const connector = make();
    await expect(connector.work()).resolves.toBe('done');
    expect(connector.connects).toBe(1);
    expect(connector.state).toBe('ready');
  });

  it('pings through onPing', async () => {
    const connector = make();
    await connector.ping();
    expect(connector.pings).toBe(1);
  });
});
