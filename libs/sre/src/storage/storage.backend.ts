import type { Readable } from 'node:stream';
import type { SreBackend, Version } from '../core/backend';
import type { ACL } from '../security/acl';

/** What can be written: bytes, text, or a stream (streamed to the backend, never buffered whole). */
export type StorageData = string | Buffer | Uint8Array | Readable;

/**
 * User metadata of a resource. `ContentType` is reserved for the MIME type; the ACL is kept apart
 * (see `getACL`) and the expiry too (see `expire`, `stat`): keys `acl` and `expiresAt` are ignored.
 * Values that are not strings round-trip through JSON.
 */
export type StorageMetadata = Record<string, unknown>;

/** What is stored beside the bytes: written together with them, or alone by `writeHeader`. */
export interface StorageHeader {
  acl: ACL;
  metadata: StorageMetadata;
  /** Epoch milliseconds after which the resource is gone; `undefined`: never. */
  expiresAt?: number;
}

/** One live version of a resource, as the backend read it. */
export interface StorageEntry extends StorageHeader {
  size: number;
  /** Names this version; handed back on conditional writes (see `Version`). */
  version: Version;
}

/** Bytes written but not yet visible (a temp file, a buffer, an uncompleted upload). */
export interface StagedWrite {
  /**
   * Makes the staged bytes the resource, with `header`, iff the resource is still at `ifVersion`
   * (`undefined`: iff it does not exist). `false` when it changed: nothing is written, and the
   * service may decide again and call `commit` once more. Atomic: readers see the old or the new
   * version, never a mix, and a failed commit leaves the old one.
   */
  commit(header: StorageHeader, ifVersion: Version | undefined): Promise<boolean>;
  /** Drops the staged bytes (after a commit, or when the write is abandoned). Never throws. */
  discard(): Promise<void>;
}

/**
 * What a Storage connector implements: plain data operations on ids the service has validated
 * (relative slash paths, no `..`). It makes no access decision: the service reads the stored ACL,
 * decides, and writes conditionally on the version it decided on. Expired resources are missing
 * for every operation (the backend may delete them when it sees them).
 */
export interface StorageBackend extends SreBackend {
  /** The live resource's header, size and version; `undefined` when it does not exist. */
  stat(id: string): Promise<StorageEntry | undefined>;
  /**
   * The whole resource with the entry it was read at; `undefined` when missing. `wanted`, when
   * given, is asked once the entry is known and before the bytes are loaded: when it answers
   * `false` (the caller may not read them) the bytes are not loaded and `data` is empty. One call
   * does what a `stat` then a `read` would, in one round trip where the backend is remote.
   */
  read(
    id: string,
    wanted?: (entry: StorageEntry) => boolean | Promise<boolean>,
  ): Promise<{ entry: StorageEntry; data: Buffer } | undefined>;
  /**
   * A stream of one version with that version's entry (size, content type, ACL): a concurrent
   * replace or delete never cuts or mixes it. `undefined` when missing.
   */
  readStream(id: string): Promise<{ entry: StorageEntry; stream: Readable } | undefined>;
  /**
   * Takes the bytes (streaming a `Readable` through with backpressure) without publishing them.
   * `expected` is the header the write expects to commit with (decided before the bytes go); a
   * backend may prepare the upload with it (S3 uploads a large stream to the key itself, started
   * with that header), and may then refuse (`false`) a commit with another one.
   */
  stage(id: string, data: StorageData, expected?: StorageHeader): Promise<StagedWrite>;
  /** Replaces the header of the version `ifVersion`, keeping the bytes; `false` when it changed or is gone. */
  writeHeader(id: string, header: StorageHeader, ifVersion: Version): Promise<boolean>;
  /** Removes the version `ifVersion`; `false` when it changed. A missing resource is `true`. */
  delete(id: string, ifVersion: Version): Promise<boolean>;
  /**
   * Optional, for a backend whose conditional writes cannot see every change on their own (S3: an
   * ETag ignores a header-only change, so a writer must hold the key's lease). Runs `work` (a
   * `stat`, the decision, one conditional change of `id`) holding off every other writer of `id`,
   * so the backend can take the version a `stat` inside `work` saw as current at commit, instead
   * of reading it again under its own lock. Answers what `work` answers.
   */
  exclusive?<T>(id: string, work: () => Promise<T>): Promise<T>;
}

/** Every operation of `StorageBackend` (a custom connector lacking one is refused at boot). */
export const STORAGE_OPERATIONS = ['stat', 'read', 'readStream', 'stage', 'writeHeader', 'delete'] as const;
