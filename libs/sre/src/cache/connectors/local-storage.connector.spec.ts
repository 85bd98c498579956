import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../../core/backend';
import { SreAccessDeniedError, SreBackendError } from '../../core/errors';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { TeamResolver } from '../../security/team-resolver';
import { describeCacheBackend } from '../../testing/cache.contract';
import type { CacheData, CacheEntry } from '../cache.backend';
import { CacheService } from '../cache.service';
import { LocalStorageCacheConnector, LocalStorageCacheSettings, localCacheFileName } from './local-storage.connector';

const context = (dataDir = os.tmpdir()) =>
  createConnectorContext({ subsystem: 'Cache', connector: 'LocalStorage', dataDir });

const scratch: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-local-cache-'));
  scratch.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

// fsync on (the default), sweep timer on (the default): the production configuration
describeCacheBackend(
  'LocalStorage',
  () => new LocalStorageCacheConnector({ folder: path.join(tmp(), 'cache') }, context()),
);
// fsync off, no sweep timer
describeCacheBackend(
  'LocalStorage (no fsync)',
  () => new LocalStorageCacheConnector({ folder: tmp(), fsync: false, sweepIntervalSeconds: 0 }, context()),
);

const account: TeamResolver = { getCandidateTeam: async () => 'acme' };
const alice = AccessCandidate.agent('alice');
const entry = (value: CacheData, more: Partial<CacheEntry> = {}): CacheEntry => ({
  value,
  acl: new ACL().grant(alice, 'owner'),
  metadata: '{}',
  expiresAt: undefined,
  ...more,
});

describe('LocalStorageCacheConnector', () => {
  let folder: string;
  const open: LocalStorageCacheConnector[] = [];

  async function connector(settings: LocalStorageCacheSettings = {}): Promise<LocalStorageCacheConnector> {
    const local = new LocalStorageCacheConnector(
      { folder, sweepIntervalSeconds: 0, fsync: false, ...settings },
      context(),
    );
    open.push(local);
    await local.connect();
    return local;
  }
  const info = async (local: LocalStorageCacheConnector, key: string) => (await local.readInfo(key))!;
  const valueOf = async (local: LocalStorageCacheConnector, key: string) =>
    local.readValue(key, (await info(local, key)).version);

  beforeEach(() => {
    folder = path.join(tmp(), 'cache');
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    jest.useRealTimers();
    await Promise.all(open.splice(0).map((local) => local.disconnect()));
  });

  it('validates its settings, with the documented defaults', () => {
    const check = (raw: unknown) => validateSettings(LocalStorageCacheSettings, raw, 'Cache(LocalStorage)');
    expect(check({})).toMatchObject({ settings: { fsync: true, sweepIntervalSeconds: 60 }, problems: [] });
    expect(check({ sweepIntervalSeconds: -1 }).problems).toEqual([expect.stringContaining('sweepIntervalSeconds')]);
    expect(check({ fsync: 'yes' }).problems).toEqual([expect.stringContaining('fsync')]);
  });

  it('defaults to <dataDir>/cache', async () => {
    const dataDir = tmp();
    const local = new LocalStorageCacheConnector({ sweepIntervalSeconds: 0 }, context(dataDir));
    expect(local.folder).toBe(path.join(dataDir, 'cache'));
    await local.connect();
    await local.write('k', entry('v'), undefined);
    expect(fs.existsSync(path.join(dataDir, 'cache', 'entries', 'e_k'))).toBe(true);
    await local.disconnect();
  });

  it('keeps entries across a new connector on the same folder, through the service too', async () => {
    const first = await connector();
    const cache = new CacheService(first, context(), { account });
    await cache.agent('alice').set('agents/alice/doc', { a: [1, 'two'] }, undefined, { m: 1 }, 3600);
    await first.write('blob', entry(Buffer.from([0, 255, 10])), undefined);
    await cache.disconnect();

    const second = await connector();
    const again = new CacheService(second, context(), { account });
    expect(await again.agent('alice').get('agents/alice/doc')).toEqual({ a: [1, 'two'] });
    expect(await again.agent('alice').getMetadata('agents/alice/doc')).toEqual({ m: 1 });
    expect(await again.agent('alice').getTTL('agents/alice/doc')).toBeGreaterThan(3590);
    await expect(again.agent('bob').get('agents/alice/doc')).rejects.toBeInstanceOf(SreAccessDeniedError);
    expect([...((await valueOf(second, 'blob')) as Buffer)]).toEqual([0, 255, 10]);
    await again.disconnect();
  });

  it('lays out one file per key: a JSON header line, then the value bytes', async () => {
    const local = await connector();
    await local.write('a/B.c', entry('héllo\nworld', { metadata: '{"m":1}', expiresAt: 4102444800000 }), undefined);
    await local.write('n', entry(-0), undefined);
    expect(fs.readdirSync(folder).sort()).toEqual(['.tmp', 'entries']);
    expect(fs.readdirSync(path.join(folder, 'entries')).sort()).toEqual(['e_a%2F%42%2Ec', 'e_n']);
    expect(fs.readdirSync(path.join(folder, '.tmp'))).toEqual([]);
    const raw = fs.readFileSync(local.fileOf('a/B.c'));
    const newline = raw.indexOf(0x0a);
    const header = JSON.parse(raw.subarray(0, newline).toString('utf8'));
    expect(header).toEqual({
      key: 'a/B.c',
      w: expect.any(String),
      acl: new ACL().grant(alice, 'owner').serialize(),
      meta: '{"m":1}',
      exp: 4102444800000,
      type: 's',
      len: Buffer.byteLength('héllo\nworld'),
    });
    expect(raw.subarray(newline + 1).toString('utf8')).toBe('héllo\nworld');
    expect(Object.is(await valueOf(local, 'n'), -0)).toBe(true);
  });

  it('gives every write a new version, and a version is not a file stamp', async () => {
    const local = await connector();
    const seen = new Set<unknown>();
    await local.write('k', entry('same'), undefined);
    for (let i = 0; i < 20; i++) {
      const { version } = await info(local, 'k');
      expect(seen.has(version)).toBe(false);
      seen.add(version);
      await expect(local.write('k', entry('same'), version)).resolves.toBe(true);
    }
  });

  it('names files safely and injectively: odd, unicode, case-different and long keys', async () => {
    const local = await connector();
    const long = 'x'.repeat(5000);
    const keys = [
      '.',
      '..',
      '../escape',
      'a/../../b',
      'Key',
      'key',
      'KEY',
      '%41',
      'A',
      'e_k',
      'h_x',
      '\u0000nul',
      'ключ/🔑',
      'e\u0301',
      'é',
      '\ud800lone',
      '\ud801lone',
      long,
      `${long}y`,
      '🔑'.repeat(100),
    ];
    const names = new Set(keys.map(localCacheFileName));
    expect(names.size).toBe(keys.length);
    for (const name of names) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200);
      expect(name).toMatch(/^[a-z0-9_%A-F-]+$/);
      expect(name).not.toMatch(/[./\0]/);
      // case-insensitive file systems cannot merge two names either
      expect([...names].filter((other) => other.toLowerCase() === name.toLowerCase())).toHaveLength(1);
    }
    expect(localCacheFileName(long)).toMatch(/^h_[0-9a-f]{64}$/);
    for (const [i, key] of keys.entries()) await local.write(key, entry(`v${i}`), undefined);
    for (const [i, key] of keys.entries()) expect([key, await valueOf(local, key)]).toEqual([key, `v${i}`]);
    expect(fs.readdirSync(path.join(folder, 'entries'))).toHaveLength(keys.length);
  });

  it('checks the full key stored in a file: a file of another key reads as missing', async () => {
    const local = await connector();
    const warn = jest.spyOn(local['context'].logger, 'warn').mockImplementation(() => undefined);
    await local.write('one', entry('1'), undefined);
    fs.copyFileSync(local.fileOf('one'), local.fileOf('two'));
    expect(await local.readInfo('two')).toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('holds another key'));
    await expect(local.write('two', entry('2'), undefined)).resolves.toBe(true);
    expect(await valueOf(local, 'two')).toBe('2');
  });

  it('reads a corrupt file as missing, warns without naming the folder, and lets the next write replace it', async () => {
    const local = await connector();
    const warn = jest.spyOn(local['context'].logger, 'warn').mockImplementation(() => undefined);
    await local.write('torn', entry('a value of some length'), undefined);
    await local.write('junk', entry('x'), undefined);
    await local.write('badacl', entry('x'), undefined);
    await local.write('badjson', entry({ json: '{"a":1}' }), undefined);
    const torn = fs.readFileSync(local.fileOf('torn'));
    fs.writeFileSync(local.fileOf('torn'), torn.subarray(0, torn.length - 3));
    fs.writeFileSync(local.fileOf('junk'), 'not a header at all');
    const rewrite = (key: string, change: (header: Record<string, unknown>) => void) => {
      const raw = fs.readFileSync(local.fileOf(key));
      const newline = raw.indexOf(0x0a);
      const header = JSON.parse(raw.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
      change(header);
      fs.writeFileSync(
        local.fileOf(key),
        Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), raw.subarray(newline + 1)]),
      );
    };
    rewrite('badacl', (header) => (header.acl = 'h:md5|u:x/o'));
    const json = fs.readFileSync(local.fileOf('badjson'), 'utf8');
    fs.writeFileSync(local.fileOf('badjson'), json.replace(/\n\{"a":1\}$/, '\n{"a":1]'));
    fs.writeFileSync(path.join(folder, 'entries', 'e_empty'), '');
    for (const key of ['torn', 'junk', 'badacl', 'empty'])
      expect([key, await local.readInfo(key)]).toEqual([key, undefined]);
    const { version } = await info(local, 'badjson');
    expect(await local.readValue('badjson', version)).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(5);
    for (const [message] of warn.mock.calls) {
      expect(message).toMatch(/cannot be decoded: it reads as missing/);
      expect(message).not.toContain(folder);
    }
    await expect(local.sweep()).resolves.toEqual({ expired: 0, temps: 0 });
    await expect(local.write('torn', entry('whole again'), undefined)).resolves.toBe(true);
    expect(await valueOf(local, 'torn')).toBe('whole again');
  });

  it('deletes an expired file when it is seen, and the sweep deletes those nobody reads', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'setInterval', 'clearInterval'] });
    const local = await connector();
    const soon = Date.now() + 1_000;
    await local.write('seen', entry('v', { expiresAt: soon }), undefined);
    await local.write('unseen', entry('v', { expiresAt: soon }), undefined);
    await local.write('kept', entry('v', { expiresAt: soon + 60_000 }), undefined);
    await local.write('forever', entry('v'), undefined);
    jest.advanceTimersByTime(1_000);
    expect(await local.readInfo('seen')).toBeUndefined();
    expect(fs.existsSync(local.fileOf('seen'))).toBe(false);
    expect(fs.existsSync(local.fileOf('unseen'))).toBe(true);
    await expect(local.sweep()).resolves.toEqual({ expired: 1, temps: 0 });
    expect(fs.readdirSync(path.join(folder, 'entries')).sort()).toEqual(['e_forever', 'e_kept']);
  });

  it('sweeps on its unref’d timer, and stops on disconnect', async () => {
    const intervals = jest.spyOn(global, 'setInterval');
    const clears = jest.spyOn(global, 'clearInterval');
    const local = await connector({ sweepIntervalSeconds: 1 });
    const timer = intervals.mock.results.at(-1)!.value as NodeJS.Timeout;
    expect(intervals.mock.calls.at(-1)![1]).toBe(1000);
    expect(timer.hasRef()).toBe(false);
    await local.write('gone', entry('v', { expiresAt: Date.now() + 50 }), undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    expect(fs.existsSync(local.fileOf('gone'))).toBe(false);
    await local.disconnect();
    expect(clears).toHaveBeenCalledWith(timer);
  });

  it('removes temp files of dead writers at connect', async () => {
    fs.mkdirSync(path.join(folder, '.tmp'), { recursive: true });
    const stale = path.join(folder, '.tmp', 'dead-writer');
    fs.writeFileSync(stale, 'partial');
    const past = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(stale, past, past);
    await connector();
    expect(fs.existsSync(stale)).toBe(false);
  });

  it('reports file-system failures as SreBackendError naming the code, never the folder', async () => {
    const local = await connector();
    fs.mkdirSync(local.fileOf('k'));
    const error = (await local.readInfo('k').catch((e: unknown) => e)) as SreBackendError;
    expect(error).toBeInstanceOf(SreBackendError);
    expect(error.message).toBe('Cache(LocalStorage): reading a cache key: EISDIR');
    expect(error.message).not.toContain(folder);
  });

  describe('crash safety', () => {
    const dist = path.resolve(__dirname, '../../../../../dist/lib/index.js');

    it('every acknowledged set survives a SIGKILL mid-run, and no file is corrupt', async () => {
      if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first (npm test does)`);
      const built = path.join(path.dirname(dist), 'cache', 'connectors', 'local-storage.connector.js');
      if (!fs.existsSync(built)) throw new Error(`${built} is missing: dist is stale, run \`npm run build\``);
      const script = `
        const lib = require(${JSON.stringify(dist)});
        const folder = process.argv[1];
        const local = new lib.LocalStorageCacheConnector({ folder, sweepIntervalSeconds: 0 });
        const cache = new lib.CacheService(local, undefined, { account: { getCandidateTeam: async () => 'acme' } });
        (async () => {
          const me = cache.agent('writer');
          for (let i = 0; i < 2000; i++) {
            const value = i % 3 === 0 ? { i, text: 'x'.repeat(i % 700) } : 'value-' + i + '-' + 'y'.repeat(i % 900);
            await me.set('agents/writer/k' + (i % 1500), value, undefined, { i });
            process.stdout.write(i + '\\n');
          }
          process.stdout.write('done\\n');
        })().catch((error) => { console.error(error); process.exit(1); });
      `;
      const child = spawn(process.execPath, ['-e', script, folder], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acked: number[] = [];
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        child.on('exit', (code, signal) => resolve(signal ?? code)),
      );
      let pending = '';
      child.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) if (/^\d+$/.test(line)) acked.push(Number(line));
        if (acked.length >= 400 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      const result = await exited;
      expect([result, stderr]).toEqual(['SIGKILL', '']);
      expect(acked.length).toBeGreaterThanOrEqual(400);
      expect(acked.length).toBeLessThan(2000);

      const local = await connector();
      const warn = jest.spyOn(local['context'].logger, 'warn');
      const cache = new CacheService(local, context(), { account });
      const last = new Map<number, number>();
      for (const i of acked) last.set(i % 1500, i);
      // the one write in flight at the kill may have landed too
      const inFlight = acked.at(-1)! + 1;
      for (const [slot, i] of last) {
        const got = await cache.agent('writer').get(`agents/writer/k${slot}`);
        const expected = (n: number) =>
          n % 3 === 0 ? { i: n, text: 'x'.repeat(n % 700) } : `value-${n}-${'y'.repeat(n % 900)}`;
        if (inFlight % 1500 === slot && JSON.stringify(got) === JSON.stringify(expected(inFlight))) continue;
        expect([slot, got]).toEqual([slot, expected(i)]);
        expect(await cache.agent('writer').getMetadata(`agents/writer/k${slot}`)).toEqual({ i });
      }
      // every file on disk decodes (the sweep reads them all)
      await local.sweep();
      expect(warn).not.toHaveBeenCalled();
      for (const name of fs.readdirSync(path.join(folder, 'entries')))
        expect(name).toMatch(/^e_agents%2Fwriter%2Fk\d+$/);
      await cache.disconnect();
    }, 60_000);
  });
});
