import { Logger } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { SreUnavailableError, type SreErrorSource } from '../../core/errors';
import { SCAN_SOURCE, type SliceCandidates, type SliceParams } from './ramvec-scan';

/** How long a worker stays ready for its next scan after one (ms), by default. */
export const DEFAULT_WORKER_READY_MS = 1;

/**
 * The worker script, run with `eval: true`: it is a string inside this module, so the same
 * code works from the TS sources under ts-jest, from `nest build`'s dist and from the packed
 * package, with no file to locate next to the compiled module.
 *
 * `bells[index]` is rung after each scan is posted to this worker; `bells[running]` counts the
 * scans posted and not finished, over all workers.
 */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { port, bells, index, running, readyMs } = workerData;
const attached = new Map();
/** Scans taken, from the event loop or the port (int32 arithmetic, as the bell's). */
let taken = 0;
${SCAN_SOURCE}
function handle(m) {
  if (m.type === 'detach') { attached.delete(m.key); return; }
  taken = (taken + 1) | 0;
  let others = 0;
  try {
    let found = attached.get(m.key);
    if (found === undefined) {
      if (m.memory === undefined) throw new Error('memory ' + m.key + ' was never attached');
      found = { memory: m.memory, kernels: new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports };
      attached.set(m.key, found);
    }
    const result = scanSlice(found.kernels, found.memory.buffer, m.params);
    others = Atomics.sub(bells, running, 1) - 1;
    port.postMessage({ id: m.id, result });
  } catch (error) {
    others = Atomics.sub(bells, running, 1) - 1;
    port.postMessage({ id: m.id, error: String((error && error.stack) || error) });
  }
  return others;
}
// Waking a sleeping thread costs 0.1-2 ms on a virtual machine's idle core, a pass over 10k
// vectors ~2.5: a worker whose pass still runs elsewhere stays ready (spinning) for the next
// scan; the last one to finish sleeps, leaving its core to the main thread, which answers and
// posts the next pass. Spinning workers and the main thread then fill the cores and no more.
function stayReady() {
  let until = performance.now() + readyMs;
  for (;;) {
    // the bell counts the scans posted to this worker, each rung after its post: one not taken
    // yet is on the port. (Comparing with the bell's last value instead, a ring that came after
    // its scan was taken from the event loop, as a scan with no rows left to claim can be, was
    // waited on for ever.)
    if (((Atomics.load(bells, index) - taken) | 0) > 0) {
      const next = receiveMessageOnPort(port);
      if (next !== undefined) {
        if (!(handle(next.message) > 0)) return;
        until = performance.now() + readyMs;
        continue;
      }
    }
    if (performance.now() >= until) return;
  }
}
port.on('message', (m) => {
  if (handle(m) > 0 && readyMs > 0) stayReady();
});
`;

/** Workers most: past the memory channels more threads only share the same bandwidth. */
export const MAX_WORKERS = 64;

/** One worker per core this process may use. */
export function defaultWorkers(): number {
  return Math.min(availableParallelism(), MAX_WORKERS);
}

interface Job {
  resolve: (result: SliceCandidates[]) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Scans and their results travel here (the worker can read it synchronously while it stays ready). */
  port: MessagePort;
  jobs: Map<number, Job>;
  /** Memories this worker holds an instance for (sent once, then named by key). */
  attached: Set<string>;
}

/**
 * A fixed set of `worker_threads` that scan slices of a namespace's shared memory. Workers start
 * on first use, are unref'd while idle (they never keep the process alive) and ref'd while a scan
 * waits on them (so an `await` on a search cannot be cut short by the process exiting). A worker
 * that dies fails its scans with a clear error and is replaced on the next scan.
 */
export class RAMVecPool {
  private readonly slots: (Slot | undefined)[];
  private readonly logger = new Logger('RAMVec');
  private nextId = 0;
  /** False once a worker could not be started at all (e.g. a permission model denies threads). */
  private startable = true;
  /** Bumped by every close: a search queued before it fails as the scans running then do. */
  private closes = 0;
  /** One bell per worker and the count of scans running (see WORKER_SOURCE). */
  private readonly bells: Int32Array;
  private readonly readyMs: number;

  /**
   * `readyMs`: how long a worker whose pass still runs on another worker stays ready for its
   * next scan (spinning); 0: every worker sleeps as soon as it is done. With more workers than
   * cores none spins: a spinning worker would take a core from one still scanning.
   */
  constructor(
    readonly size: number,
    private readonly source?: SreErrorSource,
    readyMs = DEFAULT_WORKER_READY_MS,
  ) {
    this.readyMs = size <= availableParallelism() ? readyMs : 0;
    this.slots = new Array<Slot | undefined>(size).fill(undefined);
    this.bells = new Int32Array(new SharedArrayBuffer(4 * (size + 1)));
  }

  /**
   * Scans one slice on worker `index`; the memory and its kernel module travel only the first
   * time this worker sees them.
   */
  scan(
    index: number,
    key: string,
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    params: SliceParams,
  ): Promise<SliceCandidates[]> {
    const slot = this.slot(index);
    const id = this.nextId++;
    return new Promise<SliceCandidates[]>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      if (slot.jobs.size === 1) slot.worker.ref();
      const first = !slot.attached.has(key);
      slot.attached.add(key);
      const attach = first ? { memory, module } : {};
      Atomics.add(this.bells, this.size, 1);
      slot.port.postMessage({ type: 'scan', id, key, params, ...attach });
      Atomics.add(this.bells, index, 1);
    });
  }

  /** How many times the pool was closed: searches remember it when they queue. */
  get generation(): number {
    return this.closes;
  }

  /** Whether scans can go to workers (false after a worker failed to start at all). */
  get usable(): boolean {
    return this.startable;
  }

  /** Lets every worker drop its instance over a memory that is gone (a dropped or regrown namespace). */
  detach(key: string): void {
    for (const slot of this.slots) {
      if (!slot?.attached.delete(key)) continue;
      slot.port.postMessage({ type: 'detach', key });
    }
  }

  /** Terminates every worker; scans still running fail. Idempotent; a later scan starts workers again. */
  async close(): Promise<void> {
    this.closes++;
    const slots = this.slots.splice(0, this.slots.length, ...new Array<undefined>(this.size).fill(undefined));
    await Promise.all(
      slots.map(async (slot) => {
        if (!slot) return;
        this.fail(slot, new SreUnavailableError('the RAMVec connector was disconnected during a search', this.source));
        await slot.worker.terminate();
        slot.port.close();
      }),
    );
    Atomics.store(this.bells, this.size, 0);
  }

  private slot(index: number): Slot {
    const existing = this.slots[index];
    if (existing) return existing;
    let worker: Worker;
    const { port1, port2 } = new MessageChannel();
    // a new worker has taken no scan: its bell starts over (a dead one's may have rung for more)
    Atomics.store(this.bells, index, 0);
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { port: port2, bells: this.bells, index, running: this.size, readyMs: this.readyMs },
        transferList: [port2],
      });
    } catch (error) {
      port1.close();
      this.startable = false;
      this.logger.warn(`RAMVec cannot start scan workers (${(error as Error).message}): searching on the main thread`);
      throw new SreUnavailableError('RAMVec cannot start its scan workers', this.source, { cause: error });
    }
    worker.unref();
    const slot: Slot = { worker, port: port1, jobs: new Map(), attached: new Set() };
    port1.on('message', (message: { id: number; result?: SliceCandidates[]; error?: string }) => {
      const job = slot.jobs.get(message.id);
      if (!job) return;
      slot.jobs.delete(message.id);
      if (slot.jobs.size === 0) worker.unref();
      if (message.error !== undefined)
        job.reject(new SreUnavailableError(`a RAMVec scan failed in its worker: ${message.error}`, this.source));
      else job.resolve(message.result!);
    });
    // the worker's ref (while scans wait) keeps the process alive, never the port (a listener refs it)
    port1.unref();
    const lost = (reason: string) => {
      if (this.slots[index] !== slot) return;
      this.slots[index] = undefined;
      slot.port.close();
      // its scans will never count themselves done
      Atomics.sub(this.bells, this.size, slot.jobs.size);
      if (slot.jobs.size > 0)
        this.logger.error(`RAMVec scan worker ${index} ${reason}; it is replaced on the next search`);
      this.fail(slot, new SreUnavailableError(`a RAMVec scan worker ${reason}: the search failed`, this.source));
    };
    worker.on('error', (error) => lost(`crashed (${error.message})`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.slots[index] = slot;
    return slot;
  }

  private fail(slot: Slot, error: Error): void {
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    slot.worker.unref();
    jobs.forEach((job) => job.reject(error));
  }
}
