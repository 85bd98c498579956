import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, ScryptOptions } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SreInvalidInputError } from '../core/errors';

/**
 * Encryption at rest of a JSON vault file (W14: the original's "AES-256" was RSA over the whole
 * file, and its master-key prompt was discarded). The encrypted file is JSON:
 *
 *   { "$sreVault": 1, "cipher": "aes-256-gcm",
 *     "kdf": { "name": "none" } | { "name": "scrypt", "salt": b64, "N": 32768, "r": 8, "p": 1 },
 *     "iv": b64 (12 bytes), "tag": b64 (16 bytes), "data": b64 (ciphertext of the plain vault JSON) }
 *
 * The key is either 32 random bytes written as 64 hex digits or as base64 (used as is, kdf none),
 * or any other text, a passphrase stretched with scrypt and a random 16-byte salt. The header
 * (version, cipher, kdf and its parameters) is authenticated as additional data, so a modified
 * header fails like a modified ciphertext.
 */
export const VAULT_FORMAT_MARKER = '$sreVault';
export const VAULT_FORMAT_VERSION = 1;
const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
const MIN_PASSPHRASE_LENGTH = 12;
const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 };
// a file chooses its own scrypt cost: bound it so that a crafted file cannot make connect hang
const SCRYPT_MAX_MEMORY = 256 * 1024 * 1024;

export type ScryptKdf = { name: 'scrypt'; salt: string; N: number; r: number; p: number };
export type VaultKdf = { name: 'none' } | ScryptKdf;

export interface EncryptedVaultFile {
  [VAULT_FORMAT_MARKER]: number;
  cipher: string;
  kdf: VaultKdf;
  iv: string;
  tag: string;
  data: string;
}

/** Key material: 32 raw bytes, or a passphrase for scrypt. */
export type VaultKey = string | Buffer;

/** A key or file problem. Messages never contain key material or vault content. */
export class VaultCryptoError extends SreInvalidInputError {}

interface ParsedKey {
  /** Set when the key is 32 bytes (or their hex / base64 text). */
  raw?: Buffer;
  /** The key as scrypt input. */
  passphrase: Buffer;
}

function parseKey(key: VaultKey): ParsedKey {
  if (Buffer.isBuffer(key)) {
    if (key.length === 0) throw new VaultCryptoError('the vault key is empty');
    return key.length === KEY_BYTES ? { raw: key, passphrase: key } : { passphrase: key };
  }
  if (typeof key !== 'string') throw new VaultCryptoError('the vault key must be a string or a Buffer');
  const text = key.trim();
  if (!text) throw new VaultCryptoError('the vault key is empty');
  const passphrase = Buffer.from(text, 'utf8');
  if (/^[0-9a-fA-F]{64}$/.test(text)) return { raw: Buffer.from(text, 'hex'), passphrase };
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const raw = Buffer.from(text, 'base64');
    if (raw.length === KEY_BYTES) return { raw, passphrase };
  }
  return { passphrase };
}

function scrypt(passphrase: Buffer, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * params.p + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCallback(passphrase, salt, KEY_BYTES, options, (error, derived) =>
      error ? reject(error) : resolve(derived),
    ),
  );
}

function additionalData(kdf: VaultKdf): Buffer {
  const params = kdf.name === 'scrypt' ? `scrypt:${kdf.salt}:${kdf.N}:${kdf.r}:${kdf.p}` : 'none';
  return Buffer.from(`sre-vault:${VAULT_FORMAT_VERSION}:${CIPHER}:${params}`, 'utf8');
}

/** 32 random bytes as base64: a key for `encryptVault` (keep it in a 0600 file or a secret env var). */
export function generateVaultKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** True for a parsed JSON value in the encrypted vault format. */
export function isEncryptedVault(value: unknown): value is EncryptedVaultFile {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && VAULT_FORMAT_MARKER in value;
}

/** The original SmythOS `{ encrypted, algorithm, data }` shape, which it never really decrypted. */
export function isLegacyEncryptedVault(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'encrypted' in value && 'algorithm' in value && 'data' in value;
}

/**
 * Encrypts a plain vault (JSON text of `{ <team>: { <key>: <value> } }`) and returns the text of
 * the encrypted file. The plain text must be a JSON object.
 */
export async function encryptVault(plainJson: string, key: VaultKey): Promise<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plainJson);
  } catch {
    // the parser's message quotes the input, which is full of secrets
    throw new VaultCryptoError('the plain vault is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new VaultCryptoError('the plain vault must be a JSON object of teams');
  if (isEncryptedVault(parsed)) throw new VaultCryptoError('the vault is already encrypted');
  const parsedKey = parseKey(key);
  let derived: Buffer;
  let kdf: VaultKdf;
  if (parsedKey.raw) {
    derived = parsedKey.raw;
    kdf = { name: 'none' };
  } else {
    if (parsedKey.passphrase.length < MIN_PASSPHRASE_LENGTH) {
      throw new VaultCryptoError(
        `a passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters (or use a 32-byte key: generate one with 'keygen')`,
      );
    }
    const salt = randomBytes(SALT_BYTES);
    kdf = { name: 'scrypt', salt: salt.toString('base64'), ...SCRYPT_DEFAULTS };
    derived = await scrypt(parsedKey.passphrase, salt, SCRYPT_DEFAULTS);
  }
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, derived, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(kdf));
  const data = Buffer.concat([cipher.update(plainJson, 'utf8'), cipher.final()]);
  const file: EncryptedVaultFile = {
    [VAULT_FORMAT_MARKER]: VAULT_FORMAT_VERSION,
    cipher: CIPHER,
    kdf,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

function decodeBase64(value: unknown, field: string, length?: number): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
    throw new VaultCryptoError(`the encrypted vault's '${field}' is not base64`);
  const bytes = Buffer.from(value, 'base64');
  if (length !== undefined && bytes.length !== length)
    throw new VaultCryptoError(`the encrypted vault's '${field}' must be ${length} bytes`);
  return bytes;
}

function checkKdf(kdf: unknown): VaultKdf {
  if (typeof kdf !== 'object' || kdf === null) throw new VaultCryptoError("the encrypted vault's 'kdf' is missing");
  const { name } = kdf as { name?: unknown };
  if (name === 'none') return { name: 'none' };
  if (name !== 'scrypt') throw new VaultCryptoError("the encrypted vault's kdf must be 'none' or 'scrypt'");
  const { salt, N, r, p } = kdf as Partial<ScryptKdf>;
  const int = (value: unknown, min: number, max: number) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
  if (
    !int(N, 2, 2 ** 24) ||
    (N! & (N! - 1)) !== 0 ||
    !int(r, 1, 64) ||
    !int(p, 1, 16) ||
    128 * N! * r! * p! > SCRYPT_MAX_MEMORY
  ) {
    throw new VaultCryptoError("the encrypted vault's scrypt parameters are out of range");
  }
  decodeBase64(salt, 'kdf.salt');
  return { name, salt: salt!, N: N!, r: r!, p: p! };
}

/**
 * Decrypts the text (or the parsed JSON) of an encrypted vault file and returns the plain vault
 * JSON text. A wrong key and a modified file fail the same way: GCM cannot tell them apart.
 */
export async function decryptVault(fileText: string | EncryptedVaultFile, key: VaultKey): Promise<string> {
  let file: unknown = fileText;
  if (typeof fileText === 'string') {
    try {
      file = JSON.parse(fileText);
    } catch {
      throw new VaultCryptoError('the encrypted vault is not valid JSON');
    }
  }
  if (!isEncryptedVault(file)) throw new VaultCryptoError('not an encrypted vault (no "$sreVault" marker)');
  if (file[VAULT_FORMAT_MARKER] !== VAULT_FORMAT_VERSION)
    throw new VaultCryptoError(`unsupported encrypted vault version (this version reads ${VAULT_FORMAT_VERSION})`);
  if (file.cipher !== CIPHER) throw new VaultCryptoError(`unsupported vault cipher (expected ${CIPHER})`);
  const kdf = checkKdf(file.kdf);
  const iv = decodeBase64(file.iv, 'iv', IV_BYTES);
  const tag = decodeBase64(file.tag, 'tag', TAG_BYTES);
  const data = decodeBase64(file.data, 'data');
  const parsedKey = parseKey(key);
  let derived: Buffer;
  if (kdf.name === 'none') {
    if (!parsedKey.raw)
      throw new VaultCryptoError(
        'the vault was encrypted with a 32-byte key, but the configured key is not one (64 hex digits or base64 of 32 bytes)',
      );
    derived = parsedKey.raw;
  } else {
    derived = await scrypt(parsedKey.passphrase, Buffer.from(kdf.salt, 'base64'), kdf);
  }
  try {
    const decipher = createDecipheriv(CIPHER, derived, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(kdf));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    throw new VaultCryptoError('cannot decrypt the vault: wrong key, or the file was modified');
  }
}

/**
 * Writes a file readable by its owner only (0600): a temporary file in the same folder, then a
 * rename, so that the target is never briefly readable by others nor left half-written.
 */
export function writeSecretFile(file: string, data: string | Buffer): void {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(temp, 'wx', 0o600);
  try {
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}
