import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from './vault.cli';

const SECRET = 'sk-SECRET-cli-0001';
const PASSPHRASE = 'correct horse battery staple';

describe('vault CLI', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    main(args, { stdout: (text) => void out.push(text), stderr: (text) => void err.push(text), env });
  const file = (name: string) => path.join(dir, name);
  const mode = (name: string) => fs.statSync(file(name)).mode & 0o777;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-cli-'));
    out = [];
    err = [];
    fs.writeFileSync(file('plain.json'), JSON.stringify({ acme: { openai: SECRET } }));
  });

  afterEach(() => {
    const printed = [...out, ...err].join('');
    expect(printed).not.toContain(SECRET);
    expect(printed).not.toContain(PASSPHRASE);
    if (fs.existsSync(file('vault.key')))
      expect(printed).not.toContain(fs.readFileSync(file('vault.key'), 'utf8').trim());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('generates a key, encrypts and decrypts with it, every output 0600', async () => {
    await expect(run(['keygen', file('vault.key')])).resolves.toBe(0);
    expect(mode('vault.key')).toBe(0o600);
    expect(Buffer.from(fs.readFileSync(file('vault.key'), 'utf8').trim(), 'base64')).toHaveLength(32);

    await expect(
      run(['encrypt', file('plain.json'), file('vault.enc.json'), '--key-file', file('vault.key')]),
    ).resolves.toBe(0);
    expect(mode('vault.enc.json')).toBe(0o600);
    expect(fs.readFileSync(file('vault.enc.json'), 'utf8')).not.toContain(SECRET);

    await expect(
      run(['decrypt', file('vault.enc.json'), file('back.json'), '--key-file', file('vault.key')]),
    ).resolves.toBe(0);
    expect(mode('back.json')).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file('back.json'), 'utf8'))).toEqual({ acme: { openai: SECRET } });
    expect(out.join('')).toContain('decrypted');
  });

  it('takes the key from an environment variable', async () => {
    const env = { VAULT_KEY: PASSPHRASE };
    await expect(run(['encrypt', file('plain.json'), file('enc.json'), '--key-env', 'VAULT_KEY'], env)).resolves.toBe(
      0,
    );
    await expect(run(['decrypt', file('enc.json'), file('back.json'), '--key-env', 'VAULT_KEY'], env)).resolves.toBe(0);
    expect(JSON.parse(fs.readFileSync(file('back.json'), 'utf8'))).toEqual({ acme: { openai: SECRET } });
  });

  it('fails with a clear message and exit code 1 on a wrong key', async () => {
    await run(['encrypt', file('plain.json'), file('enc.json'), '--key-env', 'K'], { K: PASSPHRASE });
    await expect(
      run(['decrypt', file('enc.json'), file('back.json'), '--key-env', 'K'], { K: `${PASSPHRASE}?` }),
    ).resolves.toBe(1);
    expect(err.join('')).toContain('wrong key, or the file was modified');
    expect(fs.existsSync(file('back.json'))).toBe(false);
  });

  it.each([
    [[], 'Usage'],
    [['encrypt', 'a'], 'encrypt needs <in> and <out>'],
    [['encrypt', 'a', 'b'], 'give exactly one of --key-file and --key-env'],
    [['encrypt', 'a', 'b', '--key-file', 'k', '--key-env', 'K'], 'give exactly one of --key-file and --key-env'],
    [['encrypt', 'a', 'b', '--key-file'], '--key-file needs a value'],
    [['encrypt', 'a', 'b', '--prompt'], 'unknown option --prompt'],
    [['rotate'], "unknown command 'rotate'"],
  ])('exits 2 on wrong usage %j', async (args, message) => {
    await expect(run(args)).resolves.toBe(2);
    expect([...err, ...out].join('')).toContain(message);
  });

  it('reports a missing input, an unset variable, and refuses to overwrite a key without --force', async () => {
    await expect(
      run(['encrypt', file('none.json'), file('o.json'), '--key-env', 'K'], { K: PASSPHRASE }),
    ).resolves.toBe(1);
    expect(err.join('')).toContain(`cannot read input file ${file('none.json')} (ENOENT)`);
    await expect(run(['encrypt', file('plain.json'), file('o.json'), '--key-env', 'UNSET'])).resolves.toBe(1);
    expect(err.join('')).toContain('the environment variable UNSET is not set');
    await run(['keygen', file('vault.key')]);
    const key = fs.readFileSync(file('vault.key'), 'utf8');
    await expect(run(['keygen', file('vault.key')])).resolves.toBe(1);
    expect(fs.readFileSync(file('vault.key'), 'utf8')).toBe(key);
    await expect(run(['keygen', file('vault.key'), '--force'])).resolves.toBe(0);
    expect(fs.readFileSync(file('vault.key'), 'utf8')).not.toBe(key);
  });
});
