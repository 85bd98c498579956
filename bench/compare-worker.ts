import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as NestCore from '@nestjs/core';
import type * as CacheFile from '../libs/sre/src/cache/cache.service';
import type * as LogFile from '../libs/sre/src/log/log.service';
import type * as NKVFile from '../libs/sre/src/nkv/nkv.service';
import type * as CandidateFile from '../libs/sre/src/security/access-candidate';
import type * as SreModuleFile from '../libs/sre/src/sre.module';
import type * as StorageFile from '../libs/sre/src/storage/storage.service';
import type * as VaultFile from '../libs/sre/src/vault/vault.service';
import { measure } from './util';

/**
 * One side of `npm run bench:compare` in a fresh process: `node compare-worker.js <ours|original>
 * <case> <seconds> <dataDir> <peerDir>`. It boots that side the way its users do, runs one case and
 * sends `{ opsPerSecond, ops, seconds, bootMs }` to the parent over IPC. The parent ignores stdout,
 * so that the "Log enabled" case writes its lines somewhere without flooding the report.
 */

export const COMPARE_CASES = [
  'boot',
  'cache.set',
  'cache.get',
  'nkv.set',
  'nkv.get',
  'vault.get',
  'vault.exists',
  'vault.listKeys',
  'log.disabled',
  'log.enabled',
  'storage.write',
  'storage.create',
  'storage.read',
  'storage.delete',
  'storage.write.nofsync',
  'storage.delete.nofsync',
  'storage.delete.flushed',
] as const;
export type CompareCase = (typeof COMPARE_CASES)[number];

export interface WorkerResult {
  opsPerSecond: number;
  ops: number;
  seconds: number;
  /** From process start to a ready runtime, module loading included. */
  bootMs: number;
}

/** What a case needs from either side, in the shape both APIs share. */
interface Side {
  cache: { set(key: string, value: unknown): Promise<unknown>; get(key: string): Promise<unknown> };
  nkv: {
    set(ns: string, key: string, value: string): Promise<unknown>;
    get(ns: string, key: string): Promise<unknown>;
  };
  vault: { get(key: string): Promise<unknown>; exists(key: string): Promise<unknown>; listKeys(): Promise<unknown> };
  log: { log(entry: object): Promise<unknown> };
  storage: {
    write(id: string, data: Buffer): Promise<unknown>;
    read(id: string): Promise<unknown>;
    delete(id: string): Promise<unknown>;
  };
}

const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:key:${i}`);
const VALUE = 'x'.repeat(64);
const SMALL = Buffer.alloc(10 * 1024, 7);
const STORED = 200;
export const VAULT_KEYS = 50;
const ENTRY = { sourceId: 'bench', componentId: 'c1', input: { text: 'hello' }, output: { text: 'world' } };

/** The vault both sides read: plain JSON, `VAULT_KEYS` secrets of the `default` team. */
export function writeVaultFile(file: string): void {
  const secrets: Record<string, string> = {};
  for (let i = 0; i < VAULT_KEYS; i++) secrets[`key${i}`] = `secret-value-${i}`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // owner-only, as a real vault file is: ours warns about a group-readable one
  fs.writeFileSync(file, JSON.stringify({ default: secrets }), { mode: 0o600 });
}

function logEnabled(which: CompareCase): boolean {
  return which === 'log.enabled';
}

/** Ours as a user boots it: `SreModule.forRoot(config)` in a Nest application context. */
async function bootOurs(which: CompareCase, dataDir: string): Promise<Side> {
  // required here, not imported at the top: the original's process must not load our library
  /* eslint-disable @typescript-eslint/no-require-imports */
  require('reflect-metadata');
  const { NestFactory } = require('@nestjs/core') as typeof NestCore;
  const { SreModule } = require('../libs/sre/src/sre.module') as typeof SreModuleFile;
  const { AccessCandidate } = require('../libs/sre/src/security/access-candidate') as typeof CandidateFile;
  const { CacheService } = require('../libs/sre/src/cache/cache.service') as typeof CacheFile;
  const { NKVService } = require('../libs/sre/src/nkv/nkv.service') as typeof NKVFile;
  const { VaultService } = require('../libs/sre/src/vault/vault.service') as typeof VaultFile;
  const { LogService } = require('../libs/sre/src/log/log.service') as typeof LogFile;
  const { StorageService } = require('../libs/sre/src/storage/storage.service') as typeof StorageFile;
  /* eslint-enable @typescript-eslint/no-require-imports */
  // the .nofsync cases: our LocalStorage at the original's durability (it never flushes a file)
  const config = configFor(which, dataDir, which.endsWith('.nofsync') ? { Settings: { fsync: false } } : {});
  // the Log connector writes at `debug`: the app's logger levels decide whether it is on
  const levels = logEnabled(which)
    ? (['error', 'warn', 'log', 'debug', 'verbose'] as const)
    : (['error', 'warn'] as const);
  const app = await NestFactory.createApplicationContext(SreModule.forRoot(config as never, { dataDir }), {
    logger: [...levels],
  });
  const user = AccessCandidate.user('bench-user');
  return {
    cache: app.get(CacheService).requester(user),
    nkv: app.get(NKVService).requester(user),
    vault: app.get(VaultService).requester(user),
    log: app.get(LogService).requester(AccessCandidate.agent('bench-agent')),
    storage: app.get(StorageService).requester(user),
  };
}

/**
 * The configuration both sides boot with: the seed's defaults for `boot`; for the other cases the
 * connectors the original uses for them, the same on both sides (`storage` adds Storage settings).
 */
function configFor(which: CompareCase, dataDir: string, storage: { Settings?: Record<string, unknown> }): object {
  if (which === 'boot') return {};
  return {
    Cache: { Connector: 'RAM' },
    NKV: { Connector: 'RAM' },
    Vault: { Connector: 'JSONFileVault', Settings: { file: path.join(dataDir, 'vault.json'), shared: 'default' } },
    Storage: { Connector: 'LocalStorage', ...storage },
    Log: { Connector: 'ConsoleLog' },
  };
}

/** The original as its README boots it: `SRE.init(config)`, then `ConnectorService` requesters. */
async function bootOriginal(which: CompareCase, dataDir: string, peerDir: string): Promise<Side> {
  const pkgDir = path.join(peerDir, 'node_modules', '@smythos', 'sre');
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { main: string };
  // an ES module: import() stays a real import() in our CommonJS output under nodenext
  const sre = await import(pathToFileURL(path.join(pkgDir, pkg.main)).href);
  const { SRE, ConnectorService, AccessCandidate } = sre;
  // the original has no data-folder option of ours: its storage folder is named
  const config = configFor(which, dataDir, { Settings: { folder: path.join(dataDir, 'storage') } });
  SRE.init(config);
  await SRE.ready();
  const user = AccessCandidate.user('bench-user');
  return {
    cache: ConnectorService.getCacheConnector().requester(user),
    nkv: ConnectorService.getNKVConnector().requester(user),
    vault: ConnectorService.getVaultConnector().requester(user),
    log: ConnectorService.getLogConnector().requester(AccessCandidate.agent('bench-agent')),
    storage: ConnectorService.getStorageConnector().requester(user),
  };
}

/** Times `count` calls of `op` once (for an operation that consumes what it works on). */
async function timeCount(
  count: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ ops: number; seconds: number }> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await op(i);
  return { ops: count, seconds: (performance.now() - start) / 1000 };
}

async function runCase(side: Side, which: CompareCase, seconds: number): Promise<{ ops: number; seconds: number }> {
  const rate = async (op: (i: number) => Promise<unknown>) => measure(which, op, seconds);
  switch (which) {
    case 'boot':
      return { ops: 0, seconds: 0 };
    case 'cache.set':
      return rate((i) => side.cache.set(KEYS[i % KEYS.length], VALUE));
    case 'cache.get':
      for (const key of KEYS) await side.cache.set(key, VALUE);
      return rate((i) => side.cache.get(KEYS[i % KEYS.length]));
    case 'nkv.set':
      return rate((i) => side.nkv.set('bench', KEYS[i % KEYS.length], VALUE));
    case 'nkv.get':
      for (const key of KEYS) await side.nkv.set('bench', key, VALUE);
      return rate((i) => side.nkv.get('bench', KEYS[i % KEYS.length]));
    case 'vault.get':
      return rate((i) => side.vault.get(`key${i % VAULT_KEYS}`));
    case 'vault.exists':
      return rate((i) => side.vault.exists(`key${i % VAULT_KEYS}`));
    case 'vault.listKeys':
      return rate(() => side.vault.listKeys());
    case 'log.disabled':
    case 'log.enabled':
      return rate(() => side.log.log(ENTRY));
    case 'storage.write':
    case 'storage.write.nofsync':
      // replaces only: a create makes two new files on either side (its own row, below), and a
      // round robin from empty would mix creates and replaces in proportions set by each side's speed
      for (let i = 0; i < STORED; i++) await side.storage.write(`bench/w${i}.bin`, SMALL);
      return rate((i) => side.storage.write(`bench/w${i % STORED}.bin`, SMALL));
    case 'storage.create': {
      const count = Math.max(200, Math.round(seconds * 500));
      return timeCount(count, (i) => side.storage.write(`bench/c${i}.bin`, SMALL));
    }
    case 'storage.read':
      for (let i = 0; i < STORED; i++) await side.storage.write(`bench/r${i}.bin`, SMALL);
      return rate((i) => side.storage.read(`bench/r${i % STORED}.bin`));
    case 'storage.delete':
    case 'storage.delete.nofsync':
    case 'storage.delete.flushed': {
      // a delete consumes its file: write a fixed set first, then time deleting each once
      const count = Math.max(200, Math.round(seconds * 1000));
      for (let i = 0; i < count; i++) await side.storage.write(`bench/d${i}.bin`, SMALL);
      // the state of any file older than the kernel's writeback delay (30 s): its blocks are on
      // disk, on both sides, so freeing them costs the same journal work
      if (which === 'storage.delete.flushed') execFileSync('sync');
      return timeCount(count, (i) => side.storage.delete(`bench/d${i}.bin`));
    }
  }
}

async function main(): Promise<void> {
  const [sideName, which, secondsArg, dataDir, peerDir] = process.argv.slice(2) as [
    string,
    CompareCase,
    string,
    string,
    string,
  ];
  if (!COMPARE_CASES.includes(which)) throw new Error(`unknown case ${which}`);
  const side = sideName === 'ours' ? await bootOurs(which, dataDir) : await bootOriginal(which, dataDir, peerDir);
  const bootMs = performance.now();
  const { ops, seconds } = await runCase(side, which, Number(secondsArg));
  const result: WorkerResult = { opsPerSecond: seconds > 0 ? ops / seconds : 0, ops, seconds, bootMs };
  process.send?.(result, () => process.exit(0));
}

if (require.main === module) {
  main().catch((error) => {
    process.send?.({ error: String((error as Error)?.stack ?? error) }, () => process.exit(1));
  });
}
