import { IsIn, IsNotEmpty, IsNumber, IsOptional, IsString, Max, Min } from 'class-validator';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AtomicFiles } from '../../core/fs/atomic-file';
import { codeOf, ensureDir, syncFolder } from '../../core/fs/fs-util';
import type { StoredNamespaceRecord } from '../namespace-table';
import type { StoredDatasource } from '../vectordb.backend';

const fsp = fs.promises;

export class RAMVecSnapshotSettings {
  /** The snapshot file; relative paths are resolved against the working directory. */
  @IsString()
  @IsNotEmpty()
  path!: string;

  /** Seconds between writes while something changed; `0`: only on disconnect. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86_400)
  intervalSeconds?: number = 60;

  /** A corrupt or truncated file: `'fail'` the boot, or `'ignore'` it and start empty (with a warning). */
  @IsOptional()
  @IsIn(['fail', 'ignore'])
  onCorrupt?: 'fail' | 'ignore' = 'fail';
}

/*
 * File layout (all integers little-endian):
 *
 *   0        8  magic "RAMVECSN"
 *   8        4  u32 format version (1)
 *   12       4  u32 flags (0)
 *   16       8  u64 M: bytes of the meta JSON
 *   24       8  u64 V: bytes of the vector blocks
 *   32       M  meta JSON (UTF-8): namespaces, their datasources, each row's id, datasource id, text
 *   32+M    32  sha256 of bytes 0 .. 32+M
 *   64+M     V  vectors: for each namespace in meta order, rows x dimensions raw fp32, row-major
 *   64+M+V  32  sha256 of the vector blocks
 *
 * The meta has its own digest so that nothing in it (dimensions, counts) is trusted before it is
 * checked; the vectors are checked as they stream in, and the rows they fill are handed over only
 * once the last digest matched.
 */
const MAGIC = Buffer.from('RAMVECSN', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 32;
const DIGEST_BYTES = 32;
/** Rows copied and hashed per block: big enough for few syscalls, small enough to keep the loop responsive. */
const BLOCK_ROWS = 1024;
const BIG_ENDIAN = os.endianness() === 'BE';

/** A datasource record as JSON holds it (`createdAt` as an ISO string). */
type SavedDatasource = Omit<StoredDatasource, 'createdAt' | 'vectorInfo'> & { createdAt?: string };

export interface SnapshotNamespaceMeta {
  key: string;
  record: StoredNamespaceRecord;
  dimensions: number;
  count: number;
  datasources: { stored: SavedDatasource; metadata: Record<string, unknown> }[];
  ids: string[];
  datasourceIds: string[];
  texts: string[];
}

interface SnapshotMeta {
  /** The saving connector's row format, for information: vectors are always saved as fp32. */
  quantization: string;
  namespaces: SnapshotNamespaceMeta[];
}

/** One namespace as the connector hands it over for saving. */
export interface SnapshotNamespaceInput {
  key: string;
  record: StoredNamespaceRecord;
  dimensions: number;
  datasources: { stored: StoredDatasource; metadata: Record<string, unknown> }[];
  rows: { id: string; datasourceId: string; text: string }[];
  /** Writes row `row`'s fp32 values into `into` at `offset`. */
  copyValues(row: number, into: Float32Array, offset: number): void;
}

/** The file is not a whole, intact snapshot; `reason` says what is wrong (no path, no data). */
export class SnapshotCorruptError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Everything the file will hold, captured at once: the meta and a copy of every vector. The copy
 * is the price of a consistent snapshot while writes go on during the (async) disk write; it
 * lasts until the write ends.
 */
export interface CapturedSnapshot {
  readonly bytes: number;
  chunks(): AsyncIterable<Buffer>;
}

export function captureSnapshot(namespaces: SnapshotNamespaceInput[], quantization: string): CapturedSnapshot {
  const blocks: Buffer[] = [];
  let vectorBytes = 0;
  const meta: SnapshotMeta = {
    quantization,
    namespaces: namespaces.map((ns) => {
      const count = ns.rows.length;
      for (let from = 0; from < count; from += BLOCK_ROWS) {
        const rows = Math.min(BLOCK_ROWS, count - from);
        const values = new Float32Array(rows * ns.dimensions);
        for (let i = 0; i < rows; i++) ns.copyValues(from + i, values, i * ns.dimensions);
        const block = Buffer.from(values.buffer, 0, values.byteLength);
        if (BIG_ENDIAN) block.swap32();
        blocks.push(block);
        vectorBytes += block.length;
      }
      return {
        key: ns.key,
        record: ns.record,
        dimensions: ns.dimensions,
        count,
        datasources: ns.datasources.map(({ stored, metadata }) => ({
          stored: { ...stored, vectorInfo: undefined, createdAt: stored.createdAt?.toISOString() },
          metadata,
        })),
        ids: ns.rows.map((row) => row.id),
        datasourceIds: ns.rows.map((row) => row.datasourceId),
        texts: ns.rows.map((row) => row.text),
      };
    }),
  };
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(VERSION, 8);
  header.writeUInt32LE(0, 12);
  header.writeBigUInt64LE(BigInt(json.length), 16);
  header.writeBigUInt64LE(BigInt(vectorBytes), 24);
  const metaDigest = createHash('sha256').update(header).update(json).digest();
  return {
    bytes: HEADER_BYTES + json.length + DIGEST_BYTES + vectorBytes + DIGEST_BYTES,
    // hashed as it is written, so the event loop is not held for the whole digest at once
    async *chunks() {
      yield header;
      yield json;
      yield metaDigest;
      const hash = createHash('sha256');
      for (const block of blocks) {
        hash.update(block);
        yield block;
      }
      yield hash.digest();
    },
  };
}

/**
 * Replaces `file` atomically: the snapshot goes to a temp file in `<folder>/.<name>.tmp/` (the
 * same file system), is fsynced, renamed over `file`, and the folder is fsynced, so a crash at
 * any point leaves the previous snapshot or the new one. The temp files live in a folder of their
 * own because `AtomicFiles` names them by UUID and clears stale ones: it must never see the
 * user's other files.
 */
export class SnapshotFile {
  readonly path: string;
  private readonly files: AtomicFiles;

  constructor(file: string) {
    this.path = path.resolve(file);
    this.files = new AtomicFiles(path.join(path.dirname(this.path), `.${path.basename(this.path)}.tmp`));
  }

  /** Removes temp files a writer that died mid-write left behind. */
  async removeLeftovers(): Promise<void> {
    await this.files.removeStale(0).catch((error: unknown) => {
      if (codeOf(error) !== 'ENOENT') throw error;
    });
  }

  async write(snapshot: CapturedSnapshot): Promise<void> {
    await ensureDir(this.files.tempDir);
    await this.files.write(this.path, snapshot.chunks());
    await syncFolder(path.dirname(this.path));
  }

  /**
   * Reads and checks the snapshot; `undefined` when there is no file. `rowsFor` makes the rows of
   * a namespace (after its meta is checked) and returns where each vector goes; on any failure the
   * caller discards what it made. Throws `SnapshotCorruptError` for a truncated or damaged file,
   * the file system's error when it cannot be read.
   */
  async read(
    rowsFor: (ns: SnapshotNamespaceMeta) => (vector: Float32Array, row: number) => void,
  ): Promise<SnapshotNamespaceMeta[] | undefined> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fsp.open(this.path, 'r');
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const size = (await handle.stat()).size;
      if (size < HEADER_BYTES) throw new SnapshotCorruptError(`truncated: ${size} bytes, not even a header`);
      const header = await readExactly(handle, 0, HEADER_BYTES);
      if (!header.subarray(0, 8).equals(MAGIC)) throw new SnapshotCorruptError('not a RAMVec snapshot (bad magic)');
      const version = header.readUInt32LE(8);
      if (version !== VERSION)
        throw new SnapshotCorruptError(`format version ${version}, this version reads ${VERSION}`);
      const metaBytes = header.readBigUInt64LE(16);
      const vectorBytes = header.readBigUInt64LE(24);
      const expected = BigInt(HEADER_BYTES + 2 * DIGEST_BYTES) + metaBytes + vectorBytes;
      if (BigInt(size) !== expected)
        throw new SnapshotCorruptError(`${size} bytes where the header says ${expected} (truncated or appended to)`);
      const M = Number(metaBytes);
      const V = Number(vectorBytes);
      const json = await readExactly(handle, HEADER_BYTES, M);
      const metaDigest = await readExactly(handle, HEADER_BYTES + M, DIGEST_BYTES);
      if (!createHash('sha256').update(header).update(json).digest().equals(metaDigest))
        throw new SnapshotCorruptError('checksum mismatch in the header or meta');
      const meta = parseMeta(json, V);
      const hash = createHash('sha256');
      let at = HEADER_BYTES + M + DIGEST_BYTES;
      for (const ns of meta.namespaces) {
        const put = rowsFor(ns);
        const rowBytes = ns.dimensions * 4;
        for (let from = 0; from < ns.count; from += BLOCK_ROWS) {
          const rows = Math.min(BLOCK_ROWS, ns.count - from);
          // its own ArrayBuffer: a Float32Array view needs the 4-byte alignment a pooled Buffer lacks
          const block = Buffer.from(new ArrayBuffer(rows * rowBytes));
          await readInto(handle, block, at);
          at += block.length;
          hash.update(block);
          if (BIG_ENDIAN) block.swap32();
          const values = new Float32Array(block.buffer, 0, rows * ns.dimensions);
          for (let i = 0; i < rows; i++) put(values.subarray(i * ns.dimensions, (i + 1) * ns.dimensions), from + i);
        }
      }
      const digest = await readExactly(handle, at, DIGEST_BYTES);
      if (!hash.digest().equals(digest)) throw new SnapshotCorruptError('checksum mismatch in the vectors');
      return meta.namespaces;
    } finally {
      await handle.close();
    }
  }
}

/** The meta's shape, checked field by field: a digest only proves the bytes are the ones written. */
function parseMeta(json: Buffer, vectorBytes: number): SnapshotMeta {
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(json.toString('utf8')) as SnapshotMeta;
  } catch {
    throw new SnapshotCorruptError('the meta is not JSON');
  }
  const bad = (what: string) => new SnapshotCorruptError(`malformed meta: ${what}`);
  if (!meta || !Array.isArray(meta.namespaces)) throw bad('no namespace list');
  let total = 0;
  const keys = new Set<string>();
  for (const ns of meta.namespaces) {
    if (typeof ns?.key !== 'string' || keys.has(ns.key)) throw bad('a namespace key is missing or repeated');
    keys.add(ns.key);
    if (!Number.isInteger(ns.dimensions) || ns.dimensions <= 0) throw bad(`namespace ${ns.key}: dimensions`);
    if (!Number.isInteger(ns.count) || ns.count < 0) throw bad(`namespace ${ns.key}: row count`);
    for (const list of [ns.ids, ns.datasourceIds, ns.texts])
      if (!Array.isArray(list) || list.length !== ns.count) throw bad(`namespace ${ns.key}: row lists`);
    if (typeof ns.record?.acl !== 'string' || typeof ns.record.namespace !== 'string')
      throw bad(`namespace ${ns.key}: record`);
    if (!Array.isArray(ns.datasources) || ns.datasources.some((d) => typeof d?.stored?.id !== 'string'))
      throw bad(`namespace ${ns.key}: datasources`);
    total += ns.count * ns.dimensions * 4;
  }
  if (total !== vectorBytes) throw bad(`${total} bytes of vectors listed, ${vectorBytes} in the file`);
  return meta;
}

/** A saved datasource record as the connector holds it again. */
export function datasourceOfSaved(saved: SavedDatasource): StoredDatasource {
  const { createdAt, ...rest } = saved;
  return { ...rest, ...(createdAt !== undefined ? { createdAt: new Date(createdAt) } : {}) };
}

async function readExactly(handle: fs.promises.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  await readInto(handle, buffer, position);
  return buffer;
}

async function readInto(handle: fs.promises.FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, position + offset);
    // the size was checked up front: a short file now means it changed under the read
    if (bytesRead === 0) throw new SnapshotCorruptError('the file ended early (changed while being read?)');
    offset += bytesRead;
  }
}
