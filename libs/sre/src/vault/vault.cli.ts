#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decryptVault, encryptVault, generateVaultKey, VaultCryptoError, writeSecretFile } from './vault-crypto';

const USAGE = `Usage:
  sre-vault encrypt <in> <out> (--key-file <file> | --key-env <NAME>)
  sre-vault decrypt <in> <out> (--key-file <file> | --key-env <NAME>)
  sre-vault keygen <out> [--force]

encrypt  writes <out> (mode 0600): the plain JSON vault <in>, AES-256-GCM encrypted
decrypt  writes <out> (mode 0600): the plain JSON of the encrypted vault <in>
keygen   writes a new random 32-byte key (base64) to <out> (mode 0600)

The key is 32 bytes (64 hex digits or base64) or a passphrase of 12 characters or more.
It is read from a file or an environment variable, never from a prompt.
`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

interface ParsedArgs {
  command: string;
  files: string[];
  keyFile?: string;
  keyEnv?: string;
  force: boolean;
}

function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  const parsed: ParsedArgs = { command: command ?? '', files: [], force: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--key-file' || arg === '--key-env') {
      const value = rest[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      if (arg === '--key-file') parsed.keyFile = value;
      else parsed.keyEnv = value;
    } else if (arg === '--force') {
      parsed.force = true;
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      parsed.files.push(arg);
    }
  }
  return parsed;
}

function readKey(args: ParsedArgs, env: NodeJS.ProcessEnv): string {
  if ((args.keyFile === undefined) === (args.keyEnv === undefined))
    throw new UsageError('give exactly one of --key-file and --key-env');
  if (args.keyEnv !== undefined) {
    const value = env[args.keyEnv];
    if (value === undefined || value.trim() === '')
      throw new VaultCryptoError(`the environment variable ${args.keyEnv} is not set`);
    return value;
  }
  return readFile(args.keyFile!, 'key file');
}

function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(path.resolve(file), 'utf8');
  } catch (error) {
    throw new VaultCryptoError(
      `cannot read ${what} ${path.resolve(file)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function write(file: string, data: string): void {
  try {
    writeSecretFile(file, data);
  } catch (error) {
    throw new VaultCryptoError(
      `cannot write ${path.resolve(file)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * The vault CLI; resolves with the exit code (0 done, 1 failed, 2 wrong usage). Messages name
 * files and variables, never a key or a secret.
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  const env = io.env ?? process.env;
  try {
    const args = parseArgs(argv);
    switch (args.command) {
      case 'encrypt':
      case 'decrypt': {
        if (args.files.length !== 2) throw new UsageError(`${args.command} needs <in> and <out>`);
        const [input, output] = args.files;
        const key = readKey(args, env);
        const text = readFile(input, 'input file');
        write(output, args.command === 'encrypt' ? await encryptVault(text, key) : await decryptVault(text, key));
        out(
          `${args.command === 'encrypt' ? 'encrypted' : 'decrypted'} ${path.resolve(input)} -> ${path.resolve(output)} (mode 0600)\n`,
        );
        return 0;
      }
      case 'keygen': {
        if (args.files.length !== 1) throw new UsageError('keygen needs <out>');
        if (args.keyFile !== undefined || args.keyEnv !== undefined) throw new UsageError('keygen takes no key option');
        const output = path.resolve(args.files[0]);
        if (!args.force && fs.existsSync(output))
          throw new VaultCryptoError(`${output} exists; a lost key is a lost vault, so pass --force to replace it`);
        write(output, `${generateVaultKey()}\n`);
        out(`wrote a new vault key to ${output} (mode 0600)\n`);
        return 0;
      }
      case '':
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return args.command === '' ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${args.command}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`sre-vault: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof VaultCryptoError) {
      err(`sre-vault: ${error.message}\n`);
      return 1;
    }
    // anything else is a bug: report its kind only, since a message might quote vault content
    err(`sre-vault: unexpected ${error instanceof Error ? error.name : 'error'}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
