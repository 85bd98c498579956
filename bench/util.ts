/**
 * Tiny benchmark helpers: run a case for a fixed time, report ops/s, and compare against a
 * baseline measured in the same process. Numbers are printed, never asserted.
 */
export interface BenchResult {
  name: string;
  ops: number;
  seconds: number;
  opsPerSecond: number;
  /** Extra figures (e.g. MB/s, peak RSS) printed after the rate. */
  notes?: string;
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
