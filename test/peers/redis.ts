/**
 * Real Redis / Redis Sentinel peers for the tests: every process is spawned here (`daemonize no`) from a config
 * written to a fresh temp dir, on free ports of 127.0.0.1, and tracked so that nothing outlives the test process.
 * Needs `redis-server` and `redis-sentinel` on PATH (test/support/global-setup.js installs them when missing).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';

export interface RedisPeer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly password?: string;
  readonly dir: string;
  /** SIGTERM, wait for the exit (SIGKILL after 5 s), remove the dir unless `keepDir`. Idempotent. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILL (a crash); keeps the dir. */
  kill(): Promise<void>;
  /** Starts again on the same port and dir (stops first when running); resolves once it answers PING. */
  restart(): Promise<void>;
  /** Runs one command against it (authenticated when it has a password) and returns the reply as text. */
  cli(...args: string[]): Promise<string>;
}

export interface StartRedisOptions {
  password?: string;
  appendonly?: boolean;
  port?: number;
  replicaOf?: { host: string; port: number };
  extraConfig?: string[];
}

export interface SentinelGroup {
  readonly masterName: string;
  readonly sentinels: { host: string; port: number }[];
  readonly master: RedisPeer;
  readonly replica: RedisPeer;
  readonly password?: string;
  failover(): Promise<number>;
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const MASTER_NAME = 'sre-master';
const READY_TIMEOUT_MS = 10_000;
const GROUP_READY_TIMEOUT_MS = 20_000;
const FAILOVER_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// A minimal RESP2 client (one connection per call), so the harness needs no client library and no redis-cli.

class ReplyError {
  constructor(readonly message: string) {}
}
type Reply = string | number | null | ReplyError | Reply[];

function parseReply(buf: Buffer, offset: number): { value: Reply; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new ReplyError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: after };
      if (buf.length < after + length + 2) return undefined;
      return { value: buf.toString('utf8', after, after + length), next: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: Reply[] = [];
      let position = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, position);
        if (!item) return undefined;
        items.push(item.value);
        position = item.next;
      }
      return { value: items, next: position };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
}

/** Sends the commands pipelined on one connection and resolves with their replies (errors as ReplyError). */
function pipeline(port: number, commands: string[][], timeoutMs = 5_000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const replies: Reply[] = [];
    let buffer = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host: HOST, port });
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(replies);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no reply from ${HOST}:${port} within ${timeoutMs} ms`)));
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`${HOST}:${port} closed the connection`)));
    socket.on('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      let position = 0;
      try {
        for (let reply = parseReply(buffer, 0); reply; reply = parseReply(buffer, position)) {
          replies.push(reply.value);
          position = reply.next;
          if (replies.length === commands.length) return finish();
        }
      } catch (error) {
        return finish(error as Error);
      }
      buffer = buffer.subarray(position);
    });
  });
}

/** One command (after AUTH when a password is given); a Redis error reply rejects. */
async function call(port: number, args: string[], password?: string, timeoutMs?: number): Promise<Reply> {
  const commands = password === undefined ? [args] : [['AUTH', password], args];
  const replies = await pipeline(port, commands, timeoutMs);
  for (const reply of replies) {
    if (reply instanceof ReplyError) throw new Error(`${HOST}:${port} ${args[0]}: ${reply.message}`);
  }
  return replies[replies.length - 1];
}

function replyText(reply: Reply): string {
  if (reply === null) return '';
  if (Array.isArray(reply)) return reply.map(replyText).join('\n');
  if (reply instanceof ReplyError) return reply.message;
  return String(reply);
}

/** `INFO section` as a map of its `key:value` lines. */
async function info(port: number, section: string, password?: string): Promise<Record<string, string>> {
  const text = replyText(await call(port, ['INFO', section], password));
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** A flat field/value array reply (SENTINEL MASTER) as a map. */
function fieldMap(reply: Reply): Record<string, string> {
  const fields: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields[replyText(reply[i])] = replyText(reply[i + 1]);
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------------------------
// Ports, dirs, config files.

const handedOutPorts = new Set<number>();

/** A port nobody listens on now (bind port 0, read it, close); never the same one twice in this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, HOST, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (!handedOutPorts.has(port)) {
      handedOutPorts.add(port);
      return port;
    }
  }
  throw new Error('could not find a free port on 127.0.0.1');
}

/** A value for a redis config line (double-quoted, escaped). */
function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function logTail(logfile: string, lines = 20): string {
  try {
    const text = fs.readFileSync(logfile, 'utf8');
    const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
    return tail ? `log tail (${logfile}):\n${tail}` : `log ${logfile} is empty`;
  } catch {
    return `no log at ${logfile}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Process tracking: every spawned process is SIGKILLed (synchronously) when the test process exits.

/** The real `process`: inside Jest's sandbox the global one is a copy whose 'exit' event never fires. */
function hostProcess(): NodeJS.Process {
  try {
    const real = vm.runInThisContext('process') as NodeJS.Process;
    if (real && typeof real.on === 'function') return real;
  } catch {
    // fall back to the sandbox's process
  }
  return process;
}
const realProcess = hostProcess();

const peers = new Set<Peer>();
let exitHookInstalled = false;

function onHostExit(): void {
  for (const peer of peers) peer.killSync();
}

function track(peer: Peer): void {
  peers.add(peer);
  if (!exitHookInstalled) {
    realProcess.on('exit', onHostExit);
    exitHookInstalled = true;
  }
}

function untrack(peer: Peer): void {
  peers.delete(peer);
  if (peers.size === 0 && exitHookInstalled) {
    realProcess.removeListener('exit', onHostExit);
    exitHookInstalled = false;
  }
}

interface RunningProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  hasExited: boolean;
  exitDescription: string;
}

async function spawnProcess(binary: string, configFile: string, cwd: string): Promise<RunningProcess> {
  const child = spawn(binary, [configFile], { cwd, stdio: 'ignore' });
  const running: Partial<RunningProcess> = { child, hasExited: false, exitDescription: '' };
  running.exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.hasExited = true;
      running.exitDescription = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
  });
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(
      `could not start ${binary} (${error.message}); install Redis 7: apt-get install -y redis-server redis-sentinel`,
    );
  }
  child.on('error', () => undefined);
  child.unref();
  running.pid = child.pid;
  return running as RunningProcess;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitExit(running: RunningProcess, timeoutMs: number): Promise<boolean> {
  if (running.hasExited) return true;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([running.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  return running.hasExited;
}

// ---------------------------------------------------------------------------------------------------------------
// A peer: one redis-server or redis-sentinel process (restartable on the same port and dir).

type Kind = 'redis-server' | 'redis-sentinel';

class Peer implements RedisPeer {
  readonly host = HOST;
  private running?: RunningProcess;
  private lastPid = 0;
  private removed = false;

  constructor(
    readonly kind: Kind,
    readonly port: number,
    readonly dir: string,
    readonly password: string | undefined,
    private readonly config: string,
  ) {}

  get pid(): number {
    return this.running?.pid ?? this.lastPid;
  }

  get configFile(): string {
    return path.join(this.dir, this.kind === 'redis-server' ? 'redis.conf' : 'sentinel.conf');
  }

  get logFile(): string {
    return path.join(this.dir, this.kind === 'redis-server' ? 'redis.log' : 'sentinel.log');
  }

  get isRunning(): boolean {
    return this.running !== undefined && !this.running.hasExited;
  }

  /** Spawns the process and waits until it answers PING; on failure it is killed and the error has its log. */
  async start(): Promise<void> {
    if (this.isRunning) throw new Error(`${this.kind} on port ${this.port} is already running`);
    fs.mkdirSync(this.dir, { recursive: true });
    // Reuse the config when it exists: Redis (CONFIG REWRITE by the sentinels) and Sentinel rewrite it, as on a
    // real restart.
    if (!fs.existsSync(this.configFile)) fs.writeFileSync(this.configFile, this.config);
    this.removed = false;
    track(this);
    const running = await spawnProcess(this.kind, this.configFile, this.dir);
    this.running = running;
    this.lastPid = running.pid;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError = '';
    while (Date.now() < deadline) {
      if (running.hasExited) {
        throw new Error(
          `${this.kind} on port ${this.port} exited (${running.exitDescription}) before answering PING; ` +
            logTail(this.logFile),
        );
      }
      try {
        const reply = await call(this.port, ['PING'], this.password, 1_000);
        if (reply === 'PONG') return;
        lastError = `PING replied ${replyText(reply)}`;
      } catch (error) {
        lastError = (error as Error).message;
      }
      await sleep(50);
    }
    await this.kill();
    throw new Error(
      `${this.kind} on port ${this.port} did not answer PING within ${READY_TIMEOUT_MS} ms (${lastError}); ` +
        logTail(this.logFile),
    );
  }

  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    const running = this.running;
    if (running && !running.hasExited) {
      signal(running.pid, 'SIGTERM');
      if (!(await waitExit(running, STOP_GRACE_MS))) {
        signal(running.pid, 'SIGKILL');
        if (!(await waitExit(running, STOP_GRACE_MS))) {
          throw new Error(`${this.kind} pid ${running.pid} (port ${this.port}) did not exit after SIGKILL`);
        }
      }
    }
    if (!options.keepDir) this.removeDir();
  }

  async kill(): Promise<void> {
    const running = this.running;
    if (!running || running.hasExited) return;
    signal(running.pid, 'SIGKILL');
    if (!(await waitExit(running, STOP_GRACE_MS))) {
      throw new Error(`${this.kind} pid ${running.pid} (port ${this.port}) did not exit after SIGKILL`);
    }
  }

  async restart(): Promise<void> {
    if (this.isRunning) await this.stop({ keepDir: true });
    await this.start();
  }

  async cli(...args: string[]): Promise<string> {
    if (args.length === 0) throw new Error('cli() needs a command');
    return replyText(await call(this.port, args, this.password));
  }

  /** For the exit hook: SIGKILL now, remove the dir, no waiting. */
  killSync(): void {
    if (this.isRunning && this.running) signal(this.running.pid, 'SIGKILL');
    this.removeDir();
  }

  private removeDir(): void {
    if (!this.removed) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.removed = true;
    }
    if (!this.isRunning) untrack(this);
  }
}

function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sre-redis-'));
}

function redisConfig(port: number, dir: string, options: StartRedisOptions): string {
  const lines = [
    `port ${port}`,
    `bind ${HOST}`,
    'daemonize no',
    `dir ${quote(dir)}`,
    `logfile ${quote(path.join(dir, 'redis.log'))}`,
    'save ""',
    `appendonly ${options.appendonly ? 'yes' : 'no'}`,
    // replicas sync at once instead of waiting 5 s for more replicas (Redis 7's default diskless delay)
    'repl-diskless-sync yes',
    'repl-diskless-sync-delay 0',
    // a master waits up to 10 s for lagging replicas on SIGTERM by default
    'shutdown-timeout 1',
  ];
  if (options.appendonly) lines.push('appendfsync always');
  if (options.password === undefined) lines.push('protected-mode no');
  else lines.push(`requirepass ${quote(options.password)}`, `masterauth ${quote(options.password)}`);
  if (options.replicaOf) lines.push(`replicaof ${options.replicaOf.host} ${options.replicaOf.port}`);
  lines.push(...(options.extraConfig ?? []));
  return lines.join('\n') + '\n';
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisPeer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const dir = makeTempDir();
    const peer = new Peer('redis-server', port, dir, options.password, redisConfig(port, dir, options));
    try {
      await peer.start();
      return peer;
    } catch (error) {
      await peer.stop().catch(() => undefined);
      // another process may have taken the free port between our probe and redis' bind: try another one
      const raced = options.port === undefined && /already in use/i.test((error as Error).message);
      if (!raced || attempt >= 3) throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sentinel group: master + one replica + three sentinels (quorum 2).

function sentinelConfig(port: number, dir: string, masterPort: number, password?: string): string {
  const lines = [
    `port ${port}`,
    `bind ${HOST}`,
    'daemonize no',
    'protected-mode no',
    `dir ${quote(dir)}`,
    `logfile ${quote(path.join(dir, 'sentinel.log'))}`,
    'sentinel resolve-hostnames no',
    `sentinel monitor ${MASTER_NAME} ${HOST} ${masterPort} 2`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 1500`,
    `sentinel failover-timeout ${MASTER_NAME} 5000`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ];
  if (password !== undefined) lines.push(`sentinel auth-pass ${MASTER_NAME} ${quote(password)}`);
  return lines.join('\n') + '\n';
}

async function startSentinel(masterPort: number, password?: string): Promise<Peer> {
  const port = await freePort();
  const dir = makeTempDir();
  const peer = new Peer('redis-sentinel', port, dir, undefined, sentinelConfig(port, dir, masterPort, password));
  try {
    await peer.start();
  } catch (error) {
    await peer.stop().catch(() => undefined);
    throw error;
  }
  return peer;
}

async function sentinelMasterState(sentinel: Peer): Promise<Record<string, string>> {
  return fieldMap(await call(sentinel.port, ['SENTINEL', 'MASTER', MASTER_NAME]));
}

/** The master port as one sentinel reports it. */
async function reportedMasterPort(sentinel: Peer): Promise<number> {
  const reply = await call(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME]);
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw new Error(`sentinel ${sentinel.port} does not know ${MASTER_NAME}: ${replyText(reply)}`);
  }
  return Number(replyText(reply[1]));
}

class Group implements SentinelGroup {
  readonly masterName = MASTER_NAME;
  private stopping?: Promise<void>;

  constructor(
    readonly master: Peer,
    readonly replica: Peer,
    private readonly sentinelPeers: Peer[],
    readonly password: string | undefined,
  ) {}

  get sentinels(): { host: string; port: number }[] {
    return this.sentinelPeers.map((sentinel) => ({ host: sentinel.host, port: sentinel.port }));
  }

  async masterPort(): Promise<number> {
    const errors: string[] = [];
    for (const sentinel of this.sentinelPeers) {
      try {
        return await reportedMasterPort(sentinel);
      } catch (error) {
        errors.push(`${sentinel.port}: ${(error as Error).message}`);
      }
    }
    throw new Error(`no sentinel reports the master of ${MASTER_NAME}: ${errors.join('; ')}`);
  }

  async failover(): Promise<number> {
    const before = await this.masterPort();
    const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
    let last = '';
    // 1. SENTINEL FAILOVER (retried while the sentinels see no good replica yet or one is still in progress)
    for (;;) {
      try {
        await this.anySentinel(['SENTINEL', 'FAILOVER', MASTER_NAME]);
        break;
      } catch (error) {
        last = (error as Error).message;
        if (!/INPROG|NOGOODSLAVE/.test(last) || Date.now() > deadline) {
          throw new Error(`SENTINEL FAILOVER ${MASTER_NAME} failed: ${last}`, { cause: error });
        }
        await sleep(250);
      }
    }
    // 2. every sentinel that answers (at least a quorum) reports one new master, and that node is a master
    while (Date.now() < deadline) {
      const ports = await Promise.all(this.sentinelPeers.map((s) => reportedMasterPort(s).catch(() => undefined)));
      const answered = ports.filter((port): port is number => port !== undefined);
      const candidate = answered[0];
      if (answered.length >= 2 && candidate !== before && answered.every((port) => port === candidate)) {
        try {
          const role = await call(candidate, ['ROLE'], this.password, 1_000);
          if (Array.isArray(role) && role[0] === 'master') return candidate;
          last = `${candidate} reports role ${replyText(Array.isArray(role) ? role[0] : role)}`;
        } catch (error) {
          last = (error as Error).message;
        }
      } else {
        last = `sentinels report master ports ${ports.map(String).join(', ')} (was ${before})`;
      }
      await sleep(100);
    }
    throw new Error(
      `failover of ${MASTER_NAME} did not complete within ${FAILOVER_TIMEOUT_MS} ms (${last}); ` +
        logTail(this.sentinelPeers[0].logFile),
    );
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // sentinels first, so that stopping the master starts no failover
      await Promise.all(this.sentinelPeers.map((sentinel) => sentinel.stop()));
      await Promise.all([this.replica.stop(), this.master.stop()]);
    })();
    return this.stopping;
  }

  private async anySentinel(args: string[]): Promise<Reply> {
    let lastError: Error | undefined;
    for (const sentinel of this.sentinelPeers) {
      try {
        return await call(sentinel.port, args);
      } catch (error) {
        lastError = error as Error;
        // a Redis error reply is an answer: do not ask the next sentinel
        if (!/ECONNREFUSED|closed the connection|no reply/.test(lastError.message)) throw lastError;
      }
    }
    throw lastError ?? new Error('no sentinels');
  }
}

/** Polls until the replica is in sync and every sentinel knows the other two and the replica. */
async function waitGroupReady(group: Group, sentinels: Peer[]): Promise<void> {
  const deadline = Date.now() + GROUP_READY_TIMEOUT_MS;
  let state = '';
  while (Date.now() < deadline) {
    try {
      const replication = await info(group.replica.port, 'replication', group.password);
      const views = await Promise.all(sentinels.map(sentinelMasterState));
      const linkUp = replication.master_link_status === 'up';
      const sentinelsReady = views.every(
        (view) => view['num-other-sentinels'] === '2' && Number(view['num-slaves']) >= 1 && view.flags === 'master',
      );
      if (linkUp && sentinelsReady) return;
      state =
        `replica master_link_status=${replication.master_link_status}; sentinels ` +
        views.map((v) => `{others=${v['num-other-sentinels']} replicas=${v['num-slaves']} flags=${v.flags}}`).join(' ');
    } catch (error) {
      state = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(
    `sentinel group did not become ready within ${GROUP_READY_TIMEOUT_MS} ms (${state}); ` +
      `replica ${logTail(group.replica.logFile, 10)}; sentinel ${logTail(sentinels[0].logFile, 10)}`,
  );
}

export async function startSentinelGroup(options: { password?: string } = {}): Promise<SentinelGroup> {
  const { password } = options;
  const started: Peer[] = [];
  try {
    const master = (await startRedis({ password })) as Peer;
    started.push(master);
    const replica = (await startRedis({ password, replicaOf: { host: HOST, port: master.port } })) as Peer;
    started.push(replica);
    const sentinels = await Promise.all([1, 2, 3].map(() => startSentinel(master.port, password)));
    started.push(...sentinels);
    const group = new Group(master, replica, sentinels, password);
    await waitGroupReady(group, sentinels);
    return group;
  } catch (error) {
    await Promise.all(started.reverse().map((peer) => peer.stop().catch(() => undefined)));
    throw error;
  }
}

/** Stops every peer this module started that is still running (or whose dir is left), e.g. in an afterAll. */
export async function stopAllRedisPeers(): Promise<void> {
  const all = [...peers];
  // sentinels first, so that stopping masters starts no failovers
  await Promise.all(all.filter((peer) => peer.kind === 'redis-sentinel').map((peer) => peer.stop()));
  await Promise.all(all.filter((peer) => peer.kind === 'redis-server').map((peer) => peer.stop()));
}
