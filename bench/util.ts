import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Tiny benchmark helpers: run a case for a fixed time, report ops/s, and compare against a
 * baseline measured in the same process. Numbers are printed, never asserted.
 * Every printed row is also kept for the run's summary and appended as one JSON line to
 * `bench/results/<run>.jsonl`, so that a later run can be compared with this one.
 */
export interface BenchResult {
  name: string;
  ops: number;
  seconds: number;
  opsPerSecond: number;
  /** Extra figures (e.g. MB/s, peak RSS) printed after the rate. */
  notes?: string;
  /** What `opsPerSecond` counts when it is not operations (`'MB/s'`); else guessed from the title. */
  unit?: string;
}

/** One line of `bench/results/<run>.jsonl`. */
export interface BenchRecord {
  /** When the run started (ISO); the same for every row of one `npm run bench`. */
  run: string;
  suite: string;
  case: string;
  opsPerSecond: number;
  unit: string;
  baseline: string;
  baselineOpsPerSecond: number;
  ratio: number;
  notes: string;
  node: string;
  cpu: string;
  /** When the row was printed (ISO). */
  date: string;
}

const RUN_STARTED = new Date();
const recorded: BenchRecord[] = [];
let resultsFile: string | undefined;

/**
 * Where rows go: `BENCH_RESULTS_DIR`, else `bench/results` under the working directory (npm runs
 * scripts from the package root, and the compiled util.js may live in dist/ or a private outDir).
 */
export function benchResultsDir(): string {
  return path.resolve(process.env.BENCH_RESULTS_DIR ?? path.join(process.cwd(), 'bench', 'results'));
}

/** The file this run appends to; colons left out of the ISO time so the name works everywhere. */
export function benchResultsFile(): string {
  resultsFile ??= path.join(benchResultsDir(), `${RUN_STARTED.toISOString().replace(/:/g, '-')}.jsonl`);
  return resultsFile;
}

/** Every row printed so far in this process, in print order. */
export function recordedRows(): readonly BenchRecord[] {
  return recorded;
}

function cpuModel(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model?.trim() ?? 'unknown'} x${cpus.length}`;
}

/** Keeps the row for the summary and appends it to the results file (created on demand). */
export function recordRow(suite: string, subject: BenchResult, baseline: BenchResult, notes: string): BenchRecord {
  const unit = subject.unit ?? (/MB\/s/.test(suite) ? 'MB/s' : 'ops/s');
  const row: BenchRecord = {
    run: RUN_STARTED.toISOString(),
    suite,
    case: subject.name,
    opsPerSecond: subject.opsPerSecond,
    unit,
    baseline: baseline.name,
    baselineOpsPerSecond: baseline.opsPerSecond,
    ratio: subject.opsPerSecond / baseline.opsPerSecond,
    notes,
    node: process.version,
    cpu: cpuModel(),
    date: new Date().toISOString(),
  };
  recorded.push(row);
  try {
    fs.mkdirSync(benchResultsDir(), { recursive: true });
    fs.appendFileSync(benchResultsFile(), `${JSON.stringify(row)}\n`);
  } catch (error) {
    // losing the file must not lose the run: the table is still printed
    console.warn(`bench: could not write ${benchResultsFile()}: ${(error as Error).message}`);
  }
  return row;
}

/** Reads a results file; blank or broken lines are skipped (a run killed mid-write). */
export function readResults(file: string): BenchRecord[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as BenchRecord];
      } catch {
        return [];
      }
    });
}

/**
 * The newest results file of a run that started before this one. With `rows`, the one sharing the
 * most suite + case pairs with them (the newest among equals): others run single benches in this
 * tree, and an interrupted run leaves a partial file.
 */
export function latestResultsFile(rows?: readonly BenchRecord[]): string | undefined {
  const dir = benchResultsDir();
  if (!fs.existsSync(dir)) return undefined;
  const own = path.basename(benchResultsFile());
  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl') && name < own)
    .sort()
    .reverse()
    .map((name) => path.join(dir, name));
  if (!rows) return files[0];
  const wanted = new Set(keyed(rows).keys());
  let best: { file: string; shared: number } | undefined;
  for (const file of files) {
    const shared = [...keyed(readResults(file)).keys()].filter((key) => wanted.has(key)).length;
    if (shared > (best?.shared ?? 0)) best = { file, shared };
  }
  return best?.file;
}

/** Rows keyed by suite and case; a case name repeated in a suite gets its occurrence number. */
function keyed(rows: readonly BenchRecord[]): Map<string, BenchRecord> {
  const seen = new Map<string, number>();
  const out = new Map<string, BenchRecord>();
  for (const row of rows) {
    // the title's parenthesised part may carry figures of the run ("270 MB dropped"): not identity
    const base = `${shortSuite(row.suite)}\u0000${row.case}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    out.set(n === 1 ? base : `${base}\u0000${n}`, row);
  }
  return out;
}

/** A suite's title without its parenthesised explanation: the summary repeats it on every row. */
function shortSuite(suite: string): string {
  return suite.replace(/\s*\(.*$/, '') || suite;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The run's rows in one table: the `npm run bench` summary. */
export function printSummary(rows: readonly BenchRecord[] = recorded): void {
  if (rows.length === 0) return;
  console.log(`\n## Summary (${rows.length} rows; results in ${path.relative(process.cwd(), benchResultsFile())})`);
  console.log('| suite | case | rate | unit | ratio to baseline | baseline | notes |');
  console.log('|---|---|---:|---|---:|---|---|');
  for (const row of rows) {
    console.log(
      `| ${cell(shortSuite(row.suite))} | ${cell(row.case)} | ${formatRate(row.opsPerSecond)} | ${row.unit} | ${row.ratio.toFixed(3)} | ${cell(row.baseline)} | ${cell(row.notes)} |`,
    );
  }
}

/**
 * Each row of this run next to the same row (suite + case) of an earlier results file, then the
 * rows found on one side only. Differences of a few percent are noise on a shared machine.
 */
export function printResultsComparison(earlierFile: string, current: readonly BenchRecord[] = recorded): void {
  const earlier = readResults(earlierFile);
  const before = keyed(earlier);
  const now = keyed(current);
  console.log(`\n## Compared with ${earlierFile} (run ${earlier[0]?.run ?? '?'}, node ${earlier[0]?.node ?? '?'})`);
  console.log('| suite | case | unit | then | now | change |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const [key, row] of now) {
    const old = before.get(key);
    if (!old) continue;
    const change = (row.opsPerSecond / old.opsPerSecond - 1) * 100;
    console.log(
      `| ${cell(shortSuite(row.suite))} | ${cell(row.case)} | ${row.unit} | ${formatRate(old.opsPerSecond)} | ${formatRate(row.opsPerSecond)} | ${change >= 0 ? '+' : ''}${change.toFixed(1)}% |`,
    );
  }
  const onlyNow = [...now].filter(([key]) => !before.has(key)).map(([, row]) => row);
  const onlyThen = [...before].filter(([key]) => !now.has(key)).map(([, row]) => row);
  if (onlyNow.length) {
    console.log('\nOnly in this run:');
    for (const row of onlyNow)
      console.log(`- ${shortSuite(row.suite)}: ${row.case} (${formatRate(row.opsPerSecond)} ${row.unit})`);
  }
  if (onlyThen.length) {
    console.log('\nOnly in the earlier run:');
    for (const row of onlyThen)
      console.log(`- ${shortSuite(row.suite)}: ${row.case} (${formatRate(row.opsPerSecond)} ${row.unit})`);
  }
}

/** Runs `op` repeatedly (awaiting each call) for about `seconds`, after a short warm-up. */
export async function measure(
  name: string,
  op: (i: number) => Promise<unknown> | unknown,
  seconds = 2,
): Promise<BenchResult> {
  const warmUntil = performance.now() + Math.min(500, seconds * 250);
  let i = 0;
  while (performance.now() < warmUntil) await op(i++);
  const start = performance.now();
  const until = start + seconds * 1000;
  let ops = 0;
  // check the clock every 64 ops so the timer is not what we measure
  while (true) {
    for (let k = 0; k < 64; k++) await op(i++ + k);
    ops += 64;
    if (performance.now() >= until) break;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { name, ops, seconds: elapsed, opsPerSecond: ops / elapsed };
}

/** Samples RSS every 5 ms while `work` runs; returns its result and the peak RSS growth in MB. */
export async function withPeakRss<T>(
  work: () => Promise<T>,
): Promise<{ result: T; peakRssMb: number; baselineRssMb: number }> {
  global.gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRssMb: (peak - baseline) / 2 ** 20, baselineRssMb: baseline / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export function formatRate(n: number): string {
  return n >= 1000 ? `${Math.round(n).toLocaleString('en-US')}` : n.toFixed(1);
}

/** Prints a subject next to its baseline with the ratio subject/baseline. */
export function printComparison(title: string, rows: Array<{ subject: BenchResult; baseline: BenchResult }>): void {
  console.log(`\n## ${title}`);
  console.log('| case | ops/s | baseline | baseline ops/s | ratio | notes |');
  console.log('|---|---:|---|---:|---:|---|');
  for (const { subject, baseline } of rows) {
    const ratio = subject.opsPerSecond / baseline.opsPerSecond;
    const notes = [subject.notes, baseline.notes ? `baseline: ${baseline.notes}` : undefined]
      .filter(Boolean)
      .join('; ');
    console.log(
      `| ${subject.name} | ${formatRate(subject.opsPerSecond)} | ${baseline.name} | ${formatRate(baseline.opsPerSecond)} | ${ratio.toFixed(3)} | ${notes} |`,
    );
    recordRow(title, subject, baseline, notes);
  }
}

/**
 * Runs `op` from `concurrency` callers at once (each awaiting its own calls) for about `seconds`,
 * after a short warm-up: the throughput under load (e.g. with auto-pipelining).
 */
export async function measureConcurrent(
  name: string,
  op: (i: number) => Promise<unknown>,
  concurrency = 100,
  seconds = 2,
): Promise<BenchResult> {
  let i = 0;
  const run = async (until: number): Promise<number> => {
    let ops = 0;
    while (performance.now() < until) {
      await op(i++);
      ops++;
    }
    return ops;
  };
  const warmUntil = performance.now() + Math.min(500, seconds * 250);
  await Promise.all(Array.from({ length: concurrency }, () => run(warmUntil)));
  const start = performance.now();
  const counts = await Promise.all(Array.from({ length: concurrency }, () => run(start + seconds * 1000)));
  const elapsed = (performance.now() - start) / 1000;
  const ops = counts.reduce((a, b) => a + b, 0);
  return { name, ops, seconds: elapsed, opsPerSecond: ops / elapsed, notes: `${concurrency} concurrent callers` };
}

/** Rounds of `measurePair` for the in-memory rows: short ones, so that a drift lasting a second hits both sides. */
export const PAIR_ROUNDS = 8;

/**
 * Measures a subject and its baseline in alternating rounds (subject, baseline, subject, ...), so
 * that a drift of the machine (another process, CPU frequency) weighs on both alike; each side's
 * rate is its total operations over its total time.
 */
export async function measurePair(
  run: (name: string, op: (i: number) => Promise<unknown>, seconds: number) => Promise<BenchResult>,
  subject: { name: string; op: (i: number) => Promise<unknown> },
  baseline: { name: string; op: (i: number) => Promise<unknown> },
  rounds = 4,
  seconds = 2,
): Promise<{ subject: BenchResult; baseline: BenchResult }> {
  const total = (name: string, parts: BenchResult[]): BenchResult => {
    const ops = parts.reduce((sum, part) => sum + part.ops, 0);
    const time = parts.reduce((sum, part) => sum + part.seconds, 0);
    return { name, ops, seconds: time, opsPerSecond: ops / time, notes: parts[0].notes };
  };
  const ours: BenchResult[] = [];
  const theirs: BenchResult[] = [];
  for (let round = 0; round < rounds; round++) {
    ours.push(await run(subject.name, subject.op, seconds / rounds));
    theirs.push(await run(baseline.name, baseline.op, seconds / rounds));
  }
  return { subject: total(subject.name, ours), baseline: total(baseline.name, theirs) };
}

/** Heap bytes `fill` keeps reachable, per entry of `entries` (after full collections; needs `--expose-gc`). */
export async function heapPerEntry(entries: number, fill: () => Promise<unknown>): Promise<number> {
  global.gc?.();
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const held = await fill();
  global.gc?.();
  global.gc?.();
  const bytes = process.memoryUsage().heapUsed - before;
  if (held === undefined) throw new Error('nothing held');
  return bytes / entries;
}
