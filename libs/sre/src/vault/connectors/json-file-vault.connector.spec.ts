import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../../core/backend';
import { searchRoots } from '../../core/data-dir';
import { SreConfigError } from '../../core/errors';
import { OWN_TEAM_ONLY } from '../../security/team-resolver';
import { describeVaultBackend } from '../../testing/vault.contract';
import { encryptVault, generateVaultKey, writeSecretFile } from '../vault-crypto';
import { VaultService } from '../vault.service';
import {
  findVaultFile,
  JSONFileVaultConnector,
  JSONFileVaultSettings,
  vaultFileCandidates,
} from './json-file-vault.connector';

// Every secret and every key used below: none may appear in an error message or a log line.
const SECRET_A = 'sk-SECRET-alpha-0001';
const SECRET_B = 'sk-SECRET-bravo-0002';
const SECRET_ENV = 'sk-SECRET-from-env-0003';
const RAW_KEY = generateVaultKey();
const PASSPHRASE = 'correct horse battery staple';
const PLAIN = {
  acme: { openai: SECRET_A, 'from-env': 'Bearer $env(SRE_TEST_VAULT_VALUE)', unset: '$env(SRE_TEST_VAULT_UNSET)x' },
};

let dir: string;
let lines: string[];
let errors: string[];

/** A Nest logger that records every line instead of printing it. */
class CapturingLogger extends Logger {
  override log(message: unknown): void {
    lines.push(`log: ${String(message)}`);
  }
  override warn(message: unknown): void {
    lines.push(`warn: ${String(message)}`);
  }
  override error(message: unknown): void {
    lines.push(`error: ${String(message)}`);
  }
  override debug(message: unknown): void {
    lines.push(`debug: ${String(message)}`);
  }
  override verbose(message: unknown): void {
    lines.push(`verbose: ${String(message)}`);
  }
  override fatal(message: unknown): void {
    lines.push(`fatal: ${String(message)}`);
  }
}

function connector(settings: Partial<JSONFileVaultSettings>, dataDir = dir, implicit = false): JSONFileVaultConnector {
  const context = createConnectorContext({
    subsystem: 'Vault',
    connector: 'JSONFileVault',
    dataDir,
    logger: new CapturingLogger('test'),
    implicit,
  });
  return new JSONFileVaultConnector(Object.assign(new JSONFileVaultSettings(), settings), context);
}

/** Connects and expects a failure; returns the message (also checked for secrets after each test). */
async function connectError(vault: JSONFileVaultConnector): Promise<SreConfigError> {
  const error = await vault.connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SreConfigError);
  errors.push((error as Error).message);
  return error as SreConfigError;
}

function write(name: string, content: string | object, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  fs.chmodSync(file, mode);
  return file;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-jfv-'));
  lines = [];
  errors = [];
  process.env.SRE_TEST_VAULT_VALUE = SECRET_ENV;
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  delete process.env.SRE_TEST_VAULT_VALUE;
  delete process.env.SRE_TEST_VAULT_KEY;
  const output = [...lines, ...errors].join('\n');
  for (const secret of [SECRET_A, SECRET_B, SECRET_ENV, RAW_KEY, PASSPHRASE]) expect(output).not.toContain(secret);
});

describe('JSONFileVault file', () => {
  it('fails to connect with a clear error naming an explicit file that does not exist', async () => {
    const missing = path.join(dir, 'nope.json');
    const error = await connectError(connector({ file: missing }));
    expect(error.message).toContain(`vault file ${missing} does not exist`);
  });

  it('fails to connect on invalid JSON without quoting the file', async () => {
    const file = write('vault.json', `{ "acme": { "openai": "${SECRET_A}", } `);
    const error = await connectError(connector({ file }));
    expect(error.message).toContain(`vault file ${file} is not valid JSON`);
  });

  it('fails on a file that is not an object of teams', async () => {
    const error = await connectError(connector({ file: write('vault.json', [SECRET_A]) }));
    expect(error.message).toContain('must hold a JSON object of teams');
  });

  it('interpolates $env(NAME) at read time and leaves unknown variables verbatim with one warning', async () => {
    const vault = connector({ file: write('vault.json', PLAIN) });
    await vault.connect();
    await expect(vault.getSecret('acme', 'from-env')).resolves.toBe(`Bearer ${SECRET_ENV}`);
    process.env.SRE_TEST_VAULT_VALUE = SECRET_B;
    await expect(vault.getSecret('acme', 'from-env')).resolves.toBe(`Bearer ${SECRET_B}`);
    await expect(vault.getSecret('acme', 'unset')).resolves.toBe('$env(SRE_TEST_VAULT_UNSET)x');
    await expect(vault.getSecret('acme', 'unset')).resolves.toBe('$env(SRE_TEST_VAULT_UNSET)x');
    expect(lines.filter((line) => line.includes('SRE_TEST_VAULT_UNSET'))).toEqual([
      expect.stringMatching(
        /^warn: .*'unset' of team 'acme' references \$env\(SRE_TEST_VAULT_UNSET\), which is not set/,
      ),
    ]);
    await vault.disconnect();
  });

  it('warns once at connect when the file is readable by group or others', async () => {
    const open = connector({ file: write('vault.json', PLAIN, 0o644) });
    await open.connect();
    expect(lines.filter((line) => line.includes('chmod 600'))).toEqual([expect.stringContaining('mode 0644')]);
    await open.reload();
    expect(lines.filter((line) => line.includes('chmod 600'))).toHaveLength(1);
    lines = [];
    const closed = connector({ file: write('private.json', PLAIN, 0o600) });
    await closed.connect();
    expect(lines.filter((line) => line.includes('chmod'))).toEqual([]);
    await Promise.all([open.disconnect(), closed.disconnect()]);
  });
});

describe('JSONFileVault search', () => {
  it('searches vault.json, vault/vault.json, .sre/vault.json in each folder, folder by folder', () => {
    expect(vaultFileCandidates(['/a', '/b'])).toEqual([
      '/a/vault.json',
      '/a/vault/vault.json',
      '/a/.sre/vault.json',
      '/b/vault.json',
      '/b/vault/vault.json',
      '/b/.sre/vault.json',
    ]);
    const first = path.join(dir, 'first');
    const second = path.join(dir, 'second');
    fs.mkdirSync(path.join(first, '.sre'), { recursive: true });
    fs.mkdirSync(second, { recursive: true });
    fs.writeFileSync(path.join(second, 'vault.json'), '{}');
    expect(findVaultFile([first, second])).toBe(path.join(second, 'vault.json'));
    fs.writeFileSync(path.join(first, '.sre', 'vault.json'), '{}');
    expect(findVaultFile([first, second])).toBe(path.join(first, '.sre', 'vault.json'));
    fs.mkdirSync(path.join(first, 'vault', 'vault.json'), { recursive: true });
    // a folder named vault.json is not a vault file
    expect(findVaultFile([first, second])).toBe(path.join(first, '.sre', 'vault.json'));
  });

  it('does not look for .sre/.sre/vault.json in a folder named .sre, nor twice in one place', () => {
    expect(vaultFileCandidates(['/app/.sre', '/app/.smyth', '/app/.smyth'])).toEqual([
      '/app/.sre/vault.json',
      '/app/.sre/vault/vault.json',
      '/app/.smyth/vault.json',
      '/app/.smyth/vault/vault.json',
      '/app/.smyth/.sre/vault.json',
    ]);
  });

  it('uses the first file found under the data dir', async () => {
    write('.sre/vault.json', { acme: { openai: 'from-sre-folder' } });
    const a = connector({});
    await a.connect();
    await expect(a.getSecret('acme', 'openai')).resolves.toBe('from-sre-folder');
    expect(a.file).toBe(path.join(dir, '.sre', 'vault.json'));
    write('vault/vault.json', { acme: { openai: 'from-vault-folder' } });
    const b = connector({});
    await b.connect();
    await expect(b.getSecret('acme', 'openai')).resolves.toBe('from-vault-folder');
    write('vault.json', { acme: { openai: 'from-root' } });
    const c = connector({});
    await c.connect();
    await expect(c.getSecret('acme', 'openai')).resolves.toBe('from-root');
    await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()]);
  });

  describe('with no vault file anywhere', () => {
    // isolate every search folder (data dir, ./.smyth, the entry script's .smyth, ~/.smyth)
    let cwd: string;
    beforeEach(() => {
      cwd = process.cwd();
      process.chdir(dir);
      // the module object itself: `import * as os` gives a frozen namespace view of it
      jest.spyOn(jest.requireActual<typeof os>('node:os'), 'homedir').mockReturnValue(path.join(dir, 'home'));
      jest.replaceProperty(process, 'argv', [process.argv[0], path.join(dir, 'app', 'main.js')]);
    });
    afterEach(() => {
      process.chdir(cwd);
      jest.restoreAllMocks();
    });

    it('boots an empty vault with one debug line, no warning, when nothing is configured (the seed default)', async () => {
      const dataDir = path.join(dir, 'data');
      const vault = connector({}, dataDir, true);
      await vault.connect();
      await expect(vault.getSecret('acme', 'openai')).resolves.toBeUndefined();
      await expect(vault.listSecretKeys('acme')).resolves.toEqual([]);
      expect(vault.file).toBeUndefined();
      expect(lines.filter((line) => !line.startsWith('debug:'))).toEqual([]);
      const debug = lines.filter((line) => line.startsWith('debug:'));
      expect(debug).toHaveLength(1);
      expect(debug[0]).toContain('no vault file found, the vault is empty');
      for (const place of vaultFileCandidates(searchRoots(dataDir))) expect(debug[0]).toContain(place);
      await vault.disconnect();
    });

    it('warns once when the vault was configured (not the seed default) and no file is found', async () => {
      const vault = connector({}, path.join(dir, 'data'));
      await vault.connect();
      expect(lines.filter((line) => line.startsWith('warn:'))).toEqual([
        expect.stringContaining('no vault file found, the vault is empty (searched: '),
      ]);
      await vault.disconnect();
    });

    it('warns once, naming every searched place, when the settings expect a file', async () => {
      const dataDir = path.join(dir, 'data');
      const vault = connector({ keyEnv: 'SRE_TEST_VAULT_KEY', watch: true }, dataDir);
      await vault.connect();
      await expect(vault.getSecret('acme', 'openai')).resolves.toBeUndefined();
      const warnings = lines.filter((line) => line.startsWith('warn:'));
      expect(warnings).toEqual([
        expect.stringContaining(
          'no vault file found, the vault is empty and not watched although settings.keyEnv, settings.watch are set',
        ),
      ]);
      for (const place of vaultFileCandidates(searchRoots(dataDir))) expect(warnings[0]).toContain(place);
      expect(lines.filter((line) => line.startsWith('debug:'))).toEqual([]);
      await vault.disconnect();
      lines = [];
      const shared = connector({ shared: 'platform' }, dataDir);
      await shared.connect();
      expect(lines).toEqual([expect.stringMatching(/^warn: no vault file found, .* although settings.shared is set/)]);
      await shared.disconnect();
    });

    it('does not search the home directory in tests, and does outside them', async () => {
      const home = path.join(dir, 'home', '.smyth', 'vault.json');
      write('home/.smyth/vault.json', { acme: { openai: 'from-home' } });
      const inTest = connector({ keyEnv: 'SRE_TEST_VAULT_KEY' }, path.join(dir, 'data'));
      await inTest.connect();
      expect(inTest.file).toBeUndefined();
      expect(lines.join('\n')).not.toContain(path.join(dir, 'home'));
      await inTest.disconnect();

      // outside Jest and NODE_ENV=test (an app started with `node`), ~/.smyth is the last place searched
      const saved = { JEST_WORKER_ID: process.env.JEST_WORKER_ID, NODE_ENV: process.env.NODE_ENV };
      delete process.env.JEST_WORKER_ID;
      process.env.NODE_ENV = 'production';
      try {
        expect(searchRoots(path.join(dir, 'data')).at(-1)).toBe(path.dirname(home));
        const outside = connector({}, path.join(dir, 'data'));
        await outside.connect();
        expect(outside.file).toBe(home);
        await expect(outside.getSecret('acme', 'openai')).resolves.toBe('from-home');
        await outside.disconnect();
      } finally {
        for (const [name, value] of Object.entries(saved))
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
      }
    });
  });
});

describe('JSONFileVault encryption at rest', () => {
  async function encrypted(key: string, content: object = PLAIN): Promise<string> {
    const file = path.join(dir, 'vault.enc.json');
    writeSecretFile(file, await encryptVault(JSON.stringify(content), key));
    return file;
  }

  it('decrypts with a raw key from a key file', async () => {
    const file = await encrypted(RAW_KEY);
    const keyFile = path.join(dir, 'vault.key');
    writeSecretFile(keyFile, `${RAW_KEY}\n`);
    const vault = connector({ file, keyFile });
    await vault.connect();
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe(SECRET_A);
    await expect(vault.getSecret('acme', 'from-env')).resolves.toBe(`Bearer ${SECRET_ENV}`);
    expect(lines.filter((line) => line.startsWith('warn:'))).toEqual([]);
    await vault.disconnect();
  });

  it('decrypts with a passphrase from an environment variable, which wins over the key file', async () => {
    const file = await encrypted(PASSPHRASE);
    process.env.SRE_TEST_VAULT_KEY = PASSPHRASE;
    const vault = connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY', keyFile: path.join(dir, 'absent.key') });
    await vault.connect();
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe(SECRET_A);
    await vault.disconnect();
  });

  it('falls back to the key file when the key variable is not set', async () => {
    const file = await encrypted(PASSPHRASE);
    const keyFile = path.join(dir, 'vault.key');
    writeSecretFile(keyFile, PASSPHRASE);
    const vault = connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY', keyFile });
    await vault.connect();
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe(SECRET_A);
    await vault.disconnect();
  });

  it('fails clearly when the file is encrypted and no key is configured', async () => {
    const file = await encrypted(RAW_KEY);
    expect((await connectError(connector({ file }))).message).toContain(
      `vault file ${file} is encrypted but no key is configured: set settings.keyFile or settings.keyEnv`,
    );
    expect((await connectError(connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY' }))).message).toContain(
      'the environment variable SRE_TEST_VAULT_KEY (settings.keyEnv) is not set',
    );
    expect((await connectError(connector({ file, keyFile: path.join(dir, 'absent.key') }))).message).toContain(
      `vault key file ${path.join(dir, 'absent.key')} does not exist`,
    );
  });

  it('fails clearly with a wrong key', async () => {
    const file = await encrypted(RAW_KEY);
    process.env.SRE_TEST_VAULT_KEY = generateVaultKey();
    const error = await connectError(connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY' }));
    expect(error.message).toContain(
      `cannot open vault file ${file}: cannot decrypt the vault: wrong key, or the file was modified`,
    );
    process.env.SRE_TEST_VAULT_KEY = PASSPHRASE;
    expect((await connectError(connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY' }))).message).toContain(
      'encrypted with a 32-byte key',
    );
    const stretched = await encrypted(PASSPHRASE);
    process.env.SRE_TEST_VAULT_KEY = `${PASSPHRASE}!`;
    expect((await connectError(connector({ file: stretched, keyEnv: 'SRE_TEST_VAULT_KEY' }))).message).toContain(
      'wrong key, or the file was modified',
    );
  });

  it.each([
    // a raw key where the header has no KDF, a passphrase where the KDF parameters are the target
    ['the ciphertext', RAW_KEY, (f: Record<string, any>) => (f.data = flip(f.data))],
    ['the tag', RAW_KEY, (f: Record<string, any>) => (f.tag = flip(f.tag))],
    ['the IV', RAW_KEY, (f: Record<string, any>) => (f.iv = flip(f.iv))],
    ['the kdf header', PASSPHRASE, (f: Record<string, any>) => (f.kdf.N = 16384)],
    ['the salt', PASSPHRASE, (f: Record<string, any>) => (f.kdf.salt = flip(f.kdf.salt))],
  ])('fails clearly when %s was modified', async (_what, key, tamper) => {
    const file = await encrypted(key);
    const content = JSON.parse(fs.readFileSync(file, 'utf8'));
    tamper(content);
    fs.writeFileSync(file, JSON.stringify(content));
    process.env.SRE_TEST_VAULT_KEY = key;
    const error = await connectError(connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY' }));
    expect(error.message).toContain('cannot decrypt the vault: wrong key, or the file was modified');
  });

  it('refuses the original SmythOS encrypted shape instead of prompting (W13, W14)', async () => {
    const file = write('vault.json', { encrypted: true, algorithm: 'aes-256-cbc', data: 'AAAA' });
    expect((await connectError(connector({ file }))).message).toContain(
      'original SmythOS encryption, which is not supported',
    );
  });

  it('warns when a key is configured for a plain file', async () => {
    const vault = connector({ file: write('vault.json', PLAIN), keyEnv: 'SRE_TEST_VAULT_KEY' });
    await vault.connect();
    expect(lines).toContainEqual(
      expect.stringMatching(/^warn: a vault key is configured but vault file .* is not encrypted/),
    );
    await vault.disconnect();
  });
});

describe('JSONFileVault watch', () => {
  async function eventually(check: () => Promise<boolean>, timeoutMs = 4000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('re-reads the file on change and keeps the last good content after a bad change', async () => {
    const file = write('vault.json', { acme: { openai: SECRET_A } });
    const vault = connector({ file, watch: true });
    await vault.connect();
    const read = () => vault.getSecret('acme', 'openai');
    await expect(read()).resolves.toBe(SECRET_A);

    // replaced by rename, as editors and the CLI do
    writeSecretFile(file, JSON.stringify({ acme: { openai: SECRET_B, extra: 'x' } }));
    await eventually(async () => (await read()) === SECRET_B);
    expect((await vault.listSecretKeys('acme')).sort()).toEqual(['extra', 'openai']);

    // rewritten in place with broken JSON: the last good content stays
    fs.writeFileSync(file, `{ "acme": { "openai": "${SECRET_A}" `);
    await eventually(async () => lines.some((line) => line.includes('keeping the previous content')));
    await expect(read()).resolves.toBe(SECRET_B);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^warn: reloading .* failed, keeping the previous content: vault file .* is not valid JSON$/,
      ),
    );

    await vault.disconnect();
    fs.writeFileSync(file, JSON.stringify({ acme: { openai: 'after-close' } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lines.filter((line) => line.includes('reloaded'))).toHaveLength(1);
  });

  it('does not watch unless asked', async () => {
    const file = write('vault.json', { acme: { openai: SECRET_A } });
    const vault = connector({ file });
    await vault.connect();
    writeSecretFile(file, JSON.stringify({ acme: { openai: SECRET_B } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe(SECRET_A);
    await vault.reload();
    await expect(vault.getSecret('acme', 'openai')).resolves.toBe(SECRET_B);
    await vault.disconnect();
  });
});

describe('JSONFileVault in VaultService', () => {
  const serve = (backend: JSONFileVaultConnector) =>
    new VaultService(backend, createConnectorContext({ subsystem: 'Vault', connector: 'JSONFileVault' }), {
      account: OWN_TEAM_ONLY,
    });

  it('counts only string values [compat]', async () => {
    const file = write('vault.json', {
      acme: { only: 'yes', number: 42, nested: { x: 'y' }, none: null },
      list: ['x'],
    });
    const vault = serve(connector({ file }));
    await expect(vault.team('acme').get('only')).resolves.toBe('yes');
    await expect(vault.team('acme').get('number')).resolves.toBeUndefined();
    await expect(vault.team('acme').get('nested')).resolves.toBeUndefined();
    await expect(vault.team('acme').listKeys()).resolves.toEqual(['only']);
    await expect(vault.team('list').listKeys()).resolves.toEqual([]);
    await vault.disconnect();
  });

  it('connects on first use and reports a bad file as SreConfigError naming Vault(JSONFileVault)', async () => {
    const good = serve(connector({ file: write('vault.json', PLAIN), shared: 'acme' }));
    await expect(good.team('globex').get('openai')).resolves.toBe(SECRET_A);
    expect(good.state).toBe('ready');
    const bad = serve(connector({ file: write('bad.json', '{') }));
    const error = await bad
      .team('acme')
      .get('openai')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(SreConfigError);
    expect(error).toMatchObject({ subsystem: 'Vault', connector: 'JSONFileVault' });
    expect((error as Error).message).toContain('Vault(JSONFileVault): vault file');
    await Promise.all([good.disconnect(), bad.disconnect()]);
  });
});

let fixtures = 0;

describeVaultBackend('JSONFileVault', (seed) =>
  connector({ file: write(`fixture-${++fixtures}.json`, seed.teams ?? {}), shared: seed.shared }),
);

describeVaultBackend('JSONFileVault (encrypted)', async (seed) => {
  const file = path.join(dir, `fixture-${++fixtures}.enc.json`);
  writeSecretFile(file, await encryptVault(JSON.stringify(seed.teams ?? {}), RAW_KEY));
  process.env.SRE_TEST_VAULT_KEY = RAW_KEY;
  return connector({ file, keyEnv: 'SRE_TEST_VAULT_KEY', shared: seed.shared });
});

function flip(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0] ^= 0x01;
  return bytes.toString('base64');
}
