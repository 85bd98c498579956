import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../../core/backend';
import { SreInvalidInputError } from '../../core/errors';
import { describeNKVBackend } from '../../testing/nkv.contract';
import { NKV_CONNECTORS } from '../nkv.module';
import {
  formatNKVEntryFile,
  LocalStorageNKVConnector,
  nkvFileName,
  parseNKVEntryFile,
} from './local-storage.connector';

const roots: string[] = [];
function freshFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nkv-ls-'));
  roots.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of roots) fs.rmSync(dir, { recursive: true, force: true });
});

describeNKVBackend('LocalStorage', () => new LocalStorageNKVConnector({ folder: freshFolder(), fsync: false }));

const hex = (name: string) => `x${Buffer.from(name).toString('hex')}`;

/** Every file below `dir`, relative. */
function filesBelow(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describe('LocalStorageNKVConnector', () => {
  let folder: string;
  let nkv: LocalStorageNKVConnector;
  beforeEach(async () => {
    folder = freshFolder();
    nkv = new LocalStorageNKVConnector({ folder });
    await nkv.connect();
  });

  it('is the registered LocalStorage connector and defaults its folder to <dataDir>/nkv', () => {
    expect(NKV_CONNECTORS.get('LocalStorage')).toBe(LocalStorageNKVConnector);
    const context = createConnectorContext({ subsystem: 'NKV', connector: 'LocalStorage', dataDir: folder });
    expect(new LocalStorageNKVConnector({}, context).folder).toBe(path.join(folder, 'nkv'));
  });

  it('keeps one file per key at teams/<team>/<namespace>/<key>, names hex-encoded, the names inside', async () => {
    await nkv.writeEntry('team-a', 'ns:1', 'a/b', 'j:1');
    await nkv.writeEntry('team-a', 'ns:1', '..', 'j:2');
    const dir = path.join(folder, 'teams', hex('team-a'), hex('ns:1'));
    expect(fs.readdirSync(dir).sort()).toEqual([hex('..'), hex('a/b')].sort());
    expect(fs.readFileSync(path.join(dir, hex('a/b')), 'utf8')).toBe('["team-a","ns:1","a/b"]\nj:1');
    expect(fs.readdirSync(path.join(folder, '.tmp'))).toEqual([]);
    // a second write replaces only that key's file
    const other = fs.statSync(path.join(dir, hex('..'))).ino;
    await nkv.writeEntry('team-a', 'ns:1', 'a/b', 'j:3');
    expect(fs.statSync(path.join(dir, hex('..'))).ino).toBe(other);
  });

  it('hashes names longer than 120 bytes and tells hashed names apart by what the file records', async () => {
    const long = 'é'.repeat(61); // 122 bytes
    expect(nkvFileName('k'.repeat(120))).toBe(hex('k'.repeat(120)));
    expect(nkvFileName(long)).toMatch(/^h[0-9a-f]{64}$/);
    expect(nkvFileName(long).length).toBeLessThan(255);
    expect(nkvFileName('k'.repeat(120)).length).toBe(241);
    await nkv.writeEntry('t', long, long, 'j:1');
    const file = path.join(folder, 'teams', hex('t'), nkvFileName(long), nkvFileName(long));
    expect(parseNKVEntryFile(fs.readFileSync(file, 'utf8'))).toEqual({ names: ['t', long, long], value: 'j:1' });
    // a file at that name recording other names (a hash collision) is not this entry
    fs.writeFileSync(file, formatNKVEntryFile('t', long, 'another key', 'j:2'));
    expect(await nkv.readEntry('t', long, long)).toBeUndefined();
    expect(await nkv.hasEntry('t', long, long)).toBe(false);
    await nkv.deleteEntry('t', long, long);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('keeps odd, unicode and long names apart and finds them again from a new instance on the folder', async () => {
    const names = [
      '.',
      '..',
      '/',
      'a/../b',
      'A',
      'a',
      'é',
      'e\u0301',
      'ﬀ',
      'ff',
      '🔑',
      ' ',
      'x'.repeat(1024),
      'CON',
      'nul',
    ];
    for (const [i, name] of names.entries()) {
      await nkv.writeEntry(name, name, name, `j:${i}`);
      await nkv.writeEntry('t', 'ns', name, `j:${i}`);
    }
    await nkv.disconnect();
    const again = new LocalStorageNKVConnector({ folder });
    await again.connect();
    for (const [i, name] of names.entries())
      expect([name, await again.readEntry(name, name, name)]).toEqual([name, `j:${i}`]);
    const listed = new Map((await again.listEntries('t', 'ns')).map(({ key, value }) => [key, value]));
    expect(listed).toEqual(new Map(names.map((name, i) => [name, `j:${i}`])));
  });

  it('refuses names it cannot keep apart and values that are not strings, before touching a file', async () => {
    const bad: unknown[] = ['', 'lone \ud800 surrogate', '\udc00', 7, undefined, null];
    for (const name of bad as string[]) {
      await expect(nkv.writeEntry(name, 'ns', 'k', 'j:1')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(nkv.readEntry('t', name, 'k')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(nkv.listEntries('t', name)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(nkv.deleteEntry('t', 'ns', name)).rejects.toBeInstanceOf(SreInvalidInputError);
    }
    await expect(nkv.writeEntry('t', 'ns', 'k', 1 as unknown as string)).rejects.toBeInstanceOf(SreInvalidInputError);
    expect(filesBelow(folder)).toEqual([]);
    // a well-formed surrogate pair is fine
    await nkv.writeEntry('t', 'ns', '\ud83d\udd11', 'j:1');
    expect(await nkv.readEntry('t', 'ns', '🔑')).toBe('j:1');
  });

  it('reports a damaged entry file as an error that does not quote it', async () => {
    await nkv.writeEntry('t', 'ns', 'k', 'j:1');
    fs.writeFileSync(path.join(folder, 'teams', hex('t'), hex('ns'), hex('k')), 'secret-without-header');
    const error = (await nkv.readEntry('t', 'ns', 'k').catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('a stored NKV entry file is damaged');
    await expect(nkv.listEntries('t', 'ns')).rejects.toThrow('damaged');
  });

  it('deletes a namespace by moving its folder away at once; leaves nothing in .tmp', async () => {
    await nkv.writeEntry('t', 'ns', 'a', 'j:1');
    await nkv.writeEntry('t', 'ns2', 'a', 'j:2');
    await nkv.deleteNamespace('t', 'ns');
    expect(fs.existsSync(path.join(folder, 'teams', hex('t'), hex('ns')))).toBe(false);
    expect(fs.readdirSync(path.join(folder, '.tmp'))).toEqual([]);
    expect(await nkv.listEntries('t', 'ns2')).toEqual([{ key: 'a', value: 'j:2' }]);
  });

  it('loses no acknowledged write when the writing process is killed (SIGKILL mid-run)', async () => {
    const dist = path.resolve(__dirname, '../../../../../dist/lib/index.js');
    if (!fs.existsSync(dist))
      throw new Error(`the crash test runs the built library: ${dist} is missing, run \`npm run build\` first`);
    const script = `
      const { LocalStorageNKVConnector } = require(${JSON.stringify(dist)});
      if (!LocalStorageNKVConnector) throw new Error('dist/lib/index.js does not export LocalStorageNKVConnector: rebuild');
      (async () => {
        const nkv = new LocalStorageNKVConnector({ folder: ${JSON.stringify(folder)} });
        await nkv.connect();
        for (let i = 0; i < 2000; i++) {
          await nkv.writeEntry('crash-team', 'crash/ns', 'k:' + i, 'j:"' + String(i).repeat(50) + '"');
          process.stdout.write('k:' + i + '\\n');
        }
      })().catch((e) => { console.error(e); process.exit(2); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').length > 300) child.kill('SIGKILL');
    });
    const ended = await exited;
    expect([ended, err]).toEqual(['SIGKILL', '']);
    const acknowledged = out.split('\n').filter((line) => /^k:\d+$/.test(line));
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    expect(acknowledged.length).toBeLessThan(2000);

    const fresh = new LocalStorageNKVConnector({ folder });
    await fresh.connect();
    for (const key of acknowledged) {
      const i = key.slice(2);
      expect([key, await fresh.readEntry('crash-team', 'crash/ns', key)]).toEqual([key, `j:"${i.repeat(50)}"`]);
    }
    // no entry file is torn: every one parses and holds the value its key was written with
    const listed = await fresh.listEntries('crash-team', 'crash/ns');
    expect(listed.length).toBeGreaterThanOrEqual(acknowledged.length);
    for (const { key, value } of listed) expect(value).toBe(`j:"${key.slice(2).repeat(50)}"`);
    for (const file of filesBelow(path.join(folder, 'teams')))
      expect(() => parseNKVEntryFile(fs.readFileSync(path.join(folder, 'teams', file), 'utf8'))).not.toThrow();
  }, 60_000);
});
