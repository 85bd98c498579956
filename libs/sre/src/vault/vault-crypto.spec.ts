import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decryptVault,
  encryptVault,
  generateVaultKey,
  isEncryptedVault,
  VaultCryptoError,
  writeSecretFile,
} from './vault-crypto';

const PLAIN = JSON.stringify({ acme: { openai: 'sk-SECRET-crypto-0001' } });

describe('vault crypto', () => {
  it('round-trips with a base64 key, a hex key and a passphrase', async () => {
    const base64 = generateVaultKey();
    const hex = Buffer.from(base64, 'base64').toString('hex');
    for (const key of [base64, hex, Buffer.from(base64, 'base64'), 'a long enough passphrase']) {
      const text = await encryptVault(PLAIN, key);
      expect(text).not.toContain('sk-SECRET');
      await expect(decryptVault(text, key)).resolves.toBe(PLAIN);
    }
    // the hex and base64 spellings are the same key
    await expect(decryptVault(await encryptVault(PLAIN, hex), base64)).resolves.toBe(PLAIN);
  });

  it('writes the documented format: random IV and salt, kdf by key kind', async () => {
    const raw = JSON.parse(await encryptVault(PLAIN, generateVaultKey()));
    expect(raw).toMatchObject({ $sreVault: 1, cipher: 'aes-256-gcm', kdf: { name: 'none' } });
    expect(Buffer.from(raw.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(raw.tag, 'base64')).toHaveLength(16);
    const a = JSON.parse(await encryptVault(PLAIN, 'a long enough passphrase'));
    const b = JSON.parse(await encryptVault(PLAIN, 'a long enough passphrase'));
    expect(a.kdf).toMatchObject({ name: 'scrypt', N: 32768, r: 8, p: 1 });
    expect(Buffer.from(a.kdf.salt, 'base64')).toHaveLength(16);
    expect(a.kdf.salt).not.toBe(b.kdf.salt);
    expect(a.iv).not.toBe(b.iv);
    expect(a.data).not.toBe(b.data);
    expect(isEncryptedVault(a)).toBe(true);
    expect(isEncryptedVault(JSON.parse(PLAIN))).toBe(false);
  });

  it.each([
    ['not JSON', 'nope', 'the plain vault is not valid JSON'],
    ['an array', '[]', 'must be a JSON object of teams'],
    ['already encrypted', '{"$sreVault":1}', 'already encrypted'],
  ])('refuses to encrypt %s', async (_what, input, message) => {
    await expect(encryptVault(input, generateVaultKey())).rejects.toThrow(message);
  });

  it('refuses short passphrases and empty keys', async () => {
    await expect(encryptVault(PLAIN, 'short')).rejects.toThrow('at least 12 characters');
    await expect(encryptVault(PLAIN, '  ')).rejects.toThrow('the vault key is empty');
  });

  it.each([
    ['a bad marker version', (f: any) => (f.$sreVault = 2), 'unsupported encrypted vault version'],
    ['another cipher', (f: any) => (f.cipher = 'aes-128-cbc'), 'unsupported vault cipher'],
    ['a short IV', (f: any) => (f.iv = Buffer.alloc(8).toString('base64')), "'iv' must be 12 bytes"],
    ['a non-base64 tag', (f: any) => (f.tag = '%%%'), "'tag' is not base64"],
    ['an unknown kdf', (f: any) => (f.kdf = { name: 'pbkdf2' }), "kdf must be 'none' or 'scrypt'"],
    ['an absurd scrypt cost', (f: any) => (f.kdf.N = 2 ** 24), 'scrypt parameters are out of range'],
    ['a scrypt N that is not a power of two', (f: any) => (f.kdf.N = 30000), 'scrypt parameters are out of range'],
  ])('rejects a file with %s', async (_what, tamper, message) => {
    const file = JSON.parse(await encryptVault(PLAIN, 'a long enough passphrase'));
    tamper(file);
    const error = await decryptVault(JSON.stringify(file), 'a long enough passphrase').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultCryptoError);
    expect((error as Error).message).toContain(message);
  });

  it('writes secret files with mode 0600, replacing an existing file and its looser mode', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-crypto-'));
    try {
      const file = path.join(dir, 'out.json');
      fs.writeFileSync(file, 'old', { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      writeSecretFile(file, 'new');
      expect(fs.readFileSync(file, 'utf8')).toBe('new');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      writeSecretFile(path.join(dir, 'fresh.json'), 'x');
      expect(fs.statSync(path.join(dir, 'fresh.json')).mode & 0o777).toBe(0o600);
      // no temporary file is left behind
      expect(fs.readdirSync(dir).sort()).toEqual(['fresh.json', 'out.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
