import { fork, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPARE_CASES, CompareCase, WorkerResult, writeVaultFile } from './compare-worker';
import { BenchResult, benchResultsFile, formatRate, recordRow } from './util';

/**
 * `npm run bench:compare [--rounds N] [--seconds S] [case...]`: the same operations through the
 * original @smythos/sre (installed on demand into bench/peer, never a dependency of ours) and
 * through nestjs-sre. Every measurement is a fresh child process and the two sides alternate
 * (ours first in even rounds, the original first in odd ones), so neither inherits the other's
 * JIT, heap or page cache and a drift of the machine weighs on both. Each side's figure is the
 * median of its rounds.
 */

const PEER_VERSION = '1.7.42';
const SUITE = `bench:compare (nestjs-sre vs @smythos/sre ${PEER_VERSION}, fresh process per measurement)`;

const LABELS: Record<CompareCase, string> = {
  boot: 'boot, default configuration (ms from process start)',
  'cache.set': 'Cache RAM set',
  'cache.get': 'Cache RAM get',
  'nkv.set': 'NKV RAM set',
  'nkv.get': 'NKV RAM get',
  'vault.get': 'Vault JSONFileVault get',
  'vault.exists': 'Vault JSONFileVault exists',
  'vault.listKeys': 'Vault JSONFileVault listKeys',
  'log.disabled': 'Log ConsoleLog, level disabled',
  'log.enabled': 'Log ConsoleLog, level enabled (stdout to /dev/null)',
  'storage.write': 'Storage LocalStorage 10 KB write, replacing an existing id',
  'storage.create': 'Storage LocalStorage 10 KB write of a new id',
  'storage.read': 'Storage LocalStorage 10 KB read',
  'storage.delete': 'Storage LocalStorage 10 KB delete',
  'storage.write.nofsync':
    'Storage LocalStorage 10 KB write, replacing, ours with fsync: false (the original never flushes)',
  'storage.delete.nofsync': 'Storage LocalStorage 10 KB delete, ours with fsync: false (the original never flushes)',
  'storage.delete.flushed':
    "Storage LocalStorage 10 KB delete, both sides' files flushed first (as any file older than 30 s)",
};

function peerDir(): string {
  return path.resolve(process.env.BENCH_PEER_DIR ?? path.join(process.cwd(), 'bench', 'peer'));
}

/** Installs the original into bench/peer when it is not there yet (its own package.json). */
function ensurePeer(dir: string): void {
  const installed = path.join(dir, 'node_modules', '@smythos', 'sre', 'package.json');
  if (fs.existsSync(installed)) {
    const { version } = JSON.parse(fs.readFileSync(installed, 'utf8')) as { version: string };
    if (version === PEER_VERSION) return;
  }
  console.log(`installing @smythos/sre@${PEER_VERSION} into ${dir} ...`);
  // --ignore-scripts: the cases here need no native build step, and the install stays inert
  const npm = spawnSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--ignore-scripts'], {
    stdio: 'inherit',
  });
  if (npm.status !== 0 || !fs.existsSync(installed))
    throw new Error(`npm install --prefix ${dir} failed (exit ${npm.status}); see the output above`);
}

/** One fresh process for one side and one case; its own data folder, deleted afterwards. */
async function runWorker(
  side: 'ours' | 'original',
  which: CompareCase,
  seconds: number,
  logLevel: string,
): Promise<WorkerResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `sre-compare-${side}-`));
  const smythDir = path.join(dataDir, '.smyth');
  // the original's SMYTH_PATH must exist with these subfolders, or it complains at boot
  for (const sub of ['storage', 'nkv', 'models', 'scheduler', 'vault'])
    fs.mkdirSync(path.join(smythDir, sub), { recursive: true });
  writeVaultFile(path.join(dataDir, 'vault.json'));
  // its default Vault finds this one by itself (boot case): no interactive prompt
  writeVaultFile(path.join(smythDir, 'vault.json'));
  try {
    return await new Promise<WorkerResult>((resolve, reject) => {
      const child = fork(
        path.join(__dirname, 'compare-worker.js'),
        [side, which, String(seconds), dataDir, peerDir()],
        {
          cwd: dataDir,
          // HOME too: the original falls back to ~/.smyth and must not touch the real one
          env: { ...process.env, SMYTH_PATH: smythDir, HOME: dataDir, LOG_LEVEL: logLevel, SRE_DATA_DIR: dataDir },
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 4000) stderr += chunk.toString();
      });
      let result: (WorkerResult & { error?: string }) | undefined;
      child.on('message', (message) => (result = message as WorkerResult & { error?: string }));
      child.on('error', reject);
      child.on('exit', (code) => {
        if (result && !result.error) resolve(result);
        else reject(new Error(`${side} ${which} failed (exit ${code}): ${result?.error ?? stderr.trim()}`));
      });
    });
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function parseArgs(argv: string[]): { rounds: number; seconds: number; cases: CompareCase[] } {
  let rounds = 3;
  let seconds = 1;
  const cases: CompareCase[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rounds') rounds = Number(argv[++i]);
    else if (arg === '--seconds') seconds = Number(argv[++i]);
    else if ((COMPARE_CASES as readonly string[]).includes(arg)) cases.push(arg as CompareCase);
    else throw new Error(`unknown argument ${arg}; cases: ${COMPARE_CASES.join(', ')}`);
  }
  if (!(rounds >= 1) || !(seconds > 0))
    throw new Error('--rounds needs a positive integer, --seconds a positive number');
  return { rounds: Math.floor(rounds), seconds, cases: cases.length ? cases : [...COMPARE_CASES] };
}

async function main(): Promise<void> {
  const { rounds, seconds, cases } = parseArgs(process.argv.slice(2));
  ensurePeer(peerDir());
  console.log(
    `# nestjs-sre vs @smythos/sre ${PEER_VERSION} (node ${process.version}, ${os.cpus().length} CPUs, ${new Date().toISOString()})`,
  );
  console.log(`${rounds} rounds, ${seconds} s per measurement, one fresh process each, sides alternating; medians.\n`);
  console.log('| case | nestjs-sre | @smythos/sre | unit | speed-up | rounds (ours / original) |');
  console.log('|---|---:|---:|---|---:|---|');
  for (const which of cases) {
    const ours: WorkerResult[] = [];
    const theirs: WorkerResult[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['ours', 'original'] as const) : (['original', 'ours'] as const);
      for (const side of order) {
        // the same switch for both: the original reads LOG_LEVEL, ours ignores it (logger levels)
        const result = await runWorker(side, which, seconds, which === 'log.enabled' ? 'debug' : 'none');
        (side === 'ours' ? ours : theirs).push(result);
      }
    }
    const boot = which === 'boot';
    const value = (r: WorkerResult) => (boot ? r.bootMs : r.opsPerSecond);
    const a = median(ours.map(value));
    const b = median(theirs.map(value));
    // speed-up > 1 means ours is faster, for a time (ms) as for a rate
    const speedUp = boot ? b / a : a / b;
    const unit = boot ? 'ms' : 'ops/s';
    const fmt = (n: number) => (boot ? n.toFixed(0) : formatRate(n));
    const spread = `${ours.map((r) => fmt(value(r))).join(', ')} / ${theirs.map((r) => fmt(value(r))).join(', ')}`;
    console.log(`| ${LABELS[which]} | ${fmt(a)} | ${fmt(b)} | ${unit} | ${speedUp.toFixed(2)}x | ${spread} |`);
    // a boot is recorded as boots/s so that every line of the results file reads "higher is better"
    const asResult = (name: string, n: number): BenchResult => ({
      name,
      ops: rounds,
      seconds: 0,
      opsPerSecond: boot ? 1000 / n : n,
      unit: boot ? 'boots/s' : 'ops/s',
    });
    recordRow(
      SUITE,
      asResult(LABELS[which], a),
      asResult(`@smythos/sre ${PEER_VERSION}`, b),
      boot ? `ours ${fmt(a)} ms, original ${fmt(b)} ms` : `rounds ${spread}`,
    );
  }
  console.log(`\nresults: ${benchResultsFile()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
