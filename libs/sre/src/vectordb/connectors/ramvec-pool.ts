import { Logger } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SreUnavailableError, type SreErrorSource } from '../../core/errors';
import { SCAN_SOURCE, type SliceCandidates, type SliceParams } from './ramvec-scan';

/**
 * The worker script, run with `eval: true`: it is a string inside this module, so the same
 * code works from the TS sources under ts-jest, from `nest build`'s dist and from the packed
 * package, with no file to locate next to the compiled module.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const attached = new Map();
${SCAN_SOURCE}
parentPort.on('message', (m) => {
  if (m.type === 'detach') { attached.delete(m.key); return; }
  try {
    let found = attached.get(m.key);
    if (found === undefined) {
      if (m.memory === undefined) throw new Error('memory ' + m.key + ' was never attached');
      found = { memory: m.memory, kernels: new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports };
      attached.set(m.key, found);
    }
    parentPort.postMessage({ id: m.id, result: scanSlice(found.kernels, found.memory.buffer, m.params) });
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String((error && error.stack) || error) });
  }
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

  constructor(
    readonly size: number,
    private readonly source?: SreErrorSource,
  ) {
    this.slots = new Array<Slot | undefined>(size).fill(undefined);
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
      slot.worker.postMessage({ type: 'scan', id, key, params, ...attach });
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
      slot.worker.postMessage({ type: 'detach', key });
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
      }),
    );
  }

  private slot(index: number): Slot {
    const existing = this.slots[index];
    if (existing) return existing;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true });
    } catch (error) {
      this.startable = false;
      this.logger.warn(`RAMVec cannot start scan workers (${(error as Error).message}): searching on the main thread`);
      throw new SreUnavailableError('RAMVec cannot start its scan workers', this.source, { cause: error });
    }
    worker.unref();
    const slot: Slot = { worker, jobs: new Map(), attached: new Set() };
    worker.on('message', (message: { id: number; result?: SliceCandidates[]; error?: string }) => {
      const job = slot.jobs.get(message.id);
      if (!job) return;
      slot.jobs.delete(message.id);
      if (slot.jobs.size === 0) worker.unref();
      if (message.error !== undefined)
        job.reject(new SreUnavailableError(`a RAMVec scan failed in its worker: ${message.error}`, this.source));
      else job.resolve(message.result!);
    });
    const lost = (reason: string) => {
      if (this.slots[index] !== slot) return;
      this.slots[index] = undefined;
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
