import { Test, TestingModule } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NKVService, SreInvalidInputError, SreModule } from 'nestjs-sre';

/**
 * The bad-input matrix of docs/nkv.md, through NKVService on SreModule's defaults (LocalStorage NKV
 * in a temp data dir): "Namespaces (1–256 bytes) and keys (1–1024 bytes) are non-empty strings
 * without control characters, checked on every operation"; `:`, `/` and `.` are ordinary
 * characters; a lone UTF-16 surrogate or a non-string is refused. Everything else is a name,
 * stored and read back exactly, and nothing lands outside the data dir.
 */

const TEAM = 'acme';

/** Every path under `dir`, relative, sorted (folders end with `/`). */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .map((entry) => {
      const rel = path.relative(dir, path.join(entry.parentPath, entry.name));
      return entry.isDirectory() ? `${rel}/` : rel;
    })
    .sort();
}

/** Refused: [label, value]. Applied as namespace and as key unless the limit differs. */
const REFUSED_NAMES: [string, unknown][] = [
  ['empty', ''],
  ['NUL alone', '\u0000'],
  ['NUL inside', 'a\u0000b'],
  ['NUL then ../', '\u0000../x'],
  ['SOH (\\x01)', 'a\u0001'],
  ['tab', 'a\tb'],
  ['line feed', 'a\nb'],
  ['carriage return', 'a\rb'],
  ['ESC (\\x1b)', '\u001b[31m'],
  ['unit separator (\\x1f)', 'a\u001f'],
  ['DEL (\\x7f)', 'a\u007f'],
  ['lone high surrogate', 'a\ud800'],
  ['lone low surrogate', '\udc00b'],
  ['not a string (number)', 42],
  ['not a string (undefined)', undefined],
  ['not a string (null)', null],
];

/** Stored and read back exactly, as namespace and as key. */
const PLAIN_NAMES: [string, string][] = [
  ['..', '..'],
  ['.', '.'],
  ['../x', '../x'],
  ['../../../../etc/passwd', '../../../../etc/passwd'],
  ['/abs', '/abs'],
  ['trailing slash/', 'a/'],
  ['double //', 'a//b'],
  ['backslash ..\\x', '..\\x'],
  ['colon a:b', 'a:b'],
  ['spaces', '  a b  '],
  ['emoji', '🙂🚀'],
  ['ZWJ emoji family', '👨‍👩‍👧‍👦'],
  ['CJK', '名前空間'],
  ['RTL', 'שלום'],
  ['é NFC', '\u00e9'],
  ['é NFD (a different name)', 'e\u0301'],
  ['case A', 'Key'],
  ['case a (a different name)', 'key'],
  ['zero-width space', 'a\u200bb'],
  ['line separator U+2028 (not a control character)', 'a\u2028b'],
  // C1 controls (Unicode category Cc, U+0080–U+009F) are NOT refused: the check covers
  // U+0000–U+001F and U+007F only. docs/nkv.md says "without control characters" unqualified.
  ['C1 control NEL U+0085 (accepted today)', 'a\u0085b'],
  ['C1 control CSI U+009B (accepted today)', 'a\u009bb'],
];

describe('NKV bad-input matrix (e2e)', () => {
  let root: string;
  let dataDir: string;
  let moduleRef: TestingModule;
  let nkv: NKVService;
  const savedEnv = { ...process.env };
  let tmpBefore: string[];

  beforeAll(async () => {
    tmpBefore = fs.readdirSync(os.tmpdir());
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-nkv-input-'));
    dataDir = path.join(root, 'data');
    process.env.SRE_DATA_DIR = dataDir;
    process.env.HOME = path.join(root, 'home');
    fs.mkdirSync(process.env.HOME);
    moduleRef = await Test.createTestingModule({ imports: [SreModule.forRoot()] }).compile();
    await moduleRef.init();
    nkv = moduleRef.get(NKVService);
  });

  afterAll(async () => {
    await moduleRef?.close();
    process.env = { ...savedEnv };
    fs.rmSync(root, { recursive: true, force: true });
  });

  const requester = () => nkv.team(TEAM);
  /** Every operation that takes a namespace, with `ns` as the namespace and a valid key. */
  const namespaceOps = (ns: unknown) => {
    const r = requester();
    const n = ns as string;
    return {
      get: () => r.get(n, 'k'),
      set: () => r.set(n, 'k', 1),
      delete: () => r.delete(n, 'k'),
      exists: () => r.exists(n, 'k'),
      list: () => r.list(n),
      deleteAll: () => r.deleteAll(n),
    };
  };
  /** Every operation that takes a key, with `key` as the key in a valid namespace. */
  const keyOps = (key: unknown) => {
    const r = requester();
    const k = key as string;
    return {
      get: () => r.get('ns', k),
      set: () => r.set('ns', k, 1),
      delete: () => r.delete('ns', k),
      exists: () => r.exists('ns', k),
    };
  };

  async function expectRefusedEverywhere(ops: Record<string, () => Promise<unknown>>, what: RegExp) {
    for (const [op, run] of Object.entries(ops)) {
      const error = await run().then(
        () => new Error(`${op} should have been refused`),
        (e: unknown) => e,
      );
      expect({ op, error }).toEqual({ op, error: expect.any(SreInvalidInputError) });
      expect((error as Error).message).toMatch(what);
    }
  }

  describe.each(REFUSED_NAMES)('refused with SreInvalidInputError: %s', (_label, name) => {
    it('as a namespace, on every operation', async () => {
      await expectRefusedEverywhere(namespaceOps(name), /^invalid NKV namespace: /);
    });
    it('as a key, on every operation', async () => {
      await expectRefusedEverywhere(keyOps(name), /^invalid NKV key: /);
    });
  });

  describe('length limits are UTF-8 bytes: namespace 256, key 1024', () => {
    it.each([
      ['namespace', 256, 'a'],
      ['namespace', 255, '€'], // 85 × 3 bytes
      ['key', 1024, 'a'],
      ['key', 1023, '€'], // 341 × 3 bytes
    ])('%s of %i bytes (%s) is stored and read back', async (what, bytes, unit) => {
      const name = unit.repeat(bytes / Buffer.byteLength(unit));
      expect(Buffer.byteLength(name)).toBe(bytes);
      const [ns, key] = what === 'namespace' ? [name, 'k'] : ['limits', name];
      await requester().set(ns, key, { bytes });
      expect(await requester().get(ns, key)).toEqual({ bytes });
      expect(await requester().list(ns)).toContainEqual({ key, data: { bytes } });
    });

    it.each([
      ['namespace', 257, 'a'],
      ['namespace', 258, '€'], // 86 characters, 258 bytes: refused though under 256 characters
      ['key', 1025, 'a'],
      ['key', 1026, '€'], // 342 characters
      ['key', 1028, '🙂'], // 257 emoji, 514 UTF-16 units, 1028 bytes
    ])('%s of %i bytes (%s) is refused on every operation', async (what, bytes, unit) => {
      const name = unit.repeat(bytes / Buffer.byteLength(unit));
      expect(Buffer.byteLength(name)).toBe(bytes);
      if (what === 'namespace') await expectRefusedEverywhere(namespaceOps(name), /longer than 256 bytes/);
      else await expectRefusedEverywhere(keyOps(name), /longer than 1024 bytes/);
    });
  });

  describe.each(PLAIN_NAMES)('a plain name, stored and read back exactly: %s', (_label, name) => {
    it('as a namespace', async () => {
      const r = requester();
      await r.set(name, 'k', name);
      expect(await r.get(name, 'k')).toBe(name);
      expect(await r.exists(name, 'k')).toBe(true);
      expect(await r.list(name)).toEqual([{ key: 'k', data: name }]);
      await r.deleteAll(name);
      expect(await r.list(name)).toEqual([]);
    });
    it('as a key', async () => {
      const r = requester();
      const ns = `plain:${name}`;
      await r.set(ns, name, { name });
      expect(await r.get(ns, name)).toEqual({ name });
      expect(await r.exists(ns, name)).toBe(true);
      expect(await r.list(ns)).toEqual([{ key: name, data: { name } }]);
      await r.delete(ns, name);
      expect(await r.exists(ns, name)).toBe(false);
    });
  });

  it('names that differ only by normalisation, case or a dot segment stay different entries', async () => {
    const r = requester();
    const names = PLAIN_NAMES.map(([, name]) => name);
    for (const name of names) await r.set('distinct', name, name);
    const listed = await r.list('distinct');
    expect(listed.map((entry) => entry.key).sort()).toEqual([...names].sort());
    for (const { key, data } of listed) expect(data).toBe(key);
  });

  it('nothing is written outside the data dir; on disk every name is encoded ([xh] + hex)', () => {
    // the temp root holds only what the test made: the data dir and the empty home
    expect(fs.readdirSync(root).sort()).toEqual(['data', 'home']);
    expect(tree(path.join(root, 'home'))).toEqual([]);
    // the system temp dir gained only this test's root (other suites may run in parallel: only
    // names a traversal could have produced are checked for)
    const gained = fs.readdirSync(os.tmpdir()).filter((name) => !tmpBefore.includes(name));
    expect(gained.filter((name) => /etc|passwd|abs|\.\./.test(name))).toEqual([]);
    expect(gained).toContain(path.basename(root));
    // every component below nkv/teams is an encoded name, never `.`/`..` or a raw name
    const teams = path.join(dataDir, 'nkv', 'teams');
    const entries = tree(teams);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      for (const component of entry.replace(/\/$/, '').split('/')) expect(component).toMatch(/^[xh][0-9a-f]+$/);
    }
    expect(tree(dataDir).every((entry) => !entry.includes('..'))).toBe(true);
  });
});
