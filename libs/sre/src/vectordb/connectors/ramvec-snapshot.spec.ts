import { Logger } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../../core/backend';
import { SreBackendError, SreConfigError } from '../../core/errors';
import { AtomicFiles } from '../../core/fs/atomic-file';
import { validateSettings } from '../../core/settings';
import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import type { Embedder } from '../embeddings/embedder';
import type { DatasourceInput, VectorNamespace } from '../vectordb.backend';
import { RAMVecConnector, RAMVecSettings } from './ramvec.connector';
import type { RAMVecQuantization } from './ramvec-rows';
import { namespaceOf, namespaceRecordOf } from './vector-connector.testkit';

/** Vectors from each text's hash: the same text always embeds alike, offline. */
function fakeEmbedder(dimensions = 24): Embedder & { calls: number } {
  return {
    dimensions,
    calls: 0,
    async embed(texts) {
      this.calls++;
      return texts.map((text) => {
        const seed = createHash('sha256').update(text).digest();
        return Array.from({ length: dimensions }, (_, i) => seed[i % 32] / 255 - 0.5 + (i % 7) / 50);
      });
    },
  };
}

// the load line on every connect would bury the test output
beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
afterAll(() => jest.restoreAllMocks());

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ramvec-snap-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = () => path.join(dir, 'vectors.snap');
const connectors: RAMVecConnector[] = [];
afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.disconnect().catch(() => undefined)));
});

function make(
  settings: Partial<RAMVecSettings> & { snapshot?: Partial<RAMVecSettings['snapshot']> } = {},
  embedder: Embedder = fakeEmbedder(),
): RAMVecConnector {
  const connector = new RAMVecConnector(
    Object.assign(new RAMVecSettings(), { workers: 0, chunkSize: 40, chunkOverlap: 0 }, settings, {
      snapshot: { path: file(), intervalSeconds: 0, ...settings.snapshot },
    }) as RAMVecSettings,
    createConnectorContext({ subsystem: 'VectorDB', connector: 'RAMVec' }),
    embedder,
  );
  connectors.push(connector);
  return connector;
}

const alice = AccessCandidate.user('alice');
const acme = AccessCandidate.team('acme');

function datasource(id: string, text: string, metadata: Record<string, unknown> = {}): DatasourceInput {
  return { id, label: `label ${id}`, text, metadata, returnFullVectorInfo: false, acl: new ACL() };
}

const TEXTS = [
  'the quick brown fox jumps over the lazy dog and keeps running',
  'vectors are packed rows in a shared WebAssembly memory',
  'a snapshot keeps the namespaces across a restart of the process',
  'int8 rows are rescored in double precision against fp32 originals',
];

/** Two owners' namespaces, datasources with metadata (one replaced, one dropped), an ACL with a grant. */
async function fill(connector: RAMVecConnector): Promise<VectorNamespace[]> {
  const docs = namespaceOf(alice, 'docs');
  const team = namespaceOf(acme, 'kb');
  await connector.createNamespace(docs, { ...namespaceRecordOf(docs), metadata: { purpose: 'notes', n: 1 } });
  await connector.createNamespace(team, {
    ...namespaceRecordOf(team),
    acl: new ACL().grant(acme, 'owner').grant(AccessCandidate.user('bob'), 'read'),
  });
  for (const [i, text] of TEXTS.entries())
    await connector.upsertDatasource(docs, datasource(`d${i}`, text, { kind: i % 2 ? 'odd' : 'even', i }));
  await connector.upsertDatasource(docs, datasource('d1', 'replaced text of the second datasource', { kind: 'odd' }));
  await connector.upsertDatasource(team, datasource('t0', TEXTS.join(' '), { tags: ['a', 'b'], nested: { x: 1 } }));
  await connector.upsertDatasource(team, datasource('gone', 'this one is dropped before the save'));
  await connector.dropDatasource(team, 'gone');
  return [docs, team];
}

/** Everything a caller can observe: records, datasources, and searches with and without filters. */
async function observe(connector: RAMVecConnector, [docs, team]: VectorNamespace[]) {
  const embedder = fakeEmbedder();
  const [query] = await embedder.embed(['packed rows of a snapshot'], alice);
  const search = (ns: VectorNamespace, filter = {}) =>
    connector.searchVectors(ns, query, { topK: 50, includeMetadata: true, filter });
  const sorted = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  return {
    size: connector.size,
    records: [await connector.readNamespace(docs.key), await connector.readNamespace(team.key)].map((r) => ({
      ...r,
      acl: r?.acl.serialize(),
    })),
    owned: (await connector.listNamespaceRecords(acme)).map((r) => r.namespace),
    datasources: [
      sorted(await connector.listDatasourceRecords(docs)),
      sorted(await connector.listDatasourceRecords(team)),
    ],
    one: await connector.readDatasource(docs, 'd2'),
    all: await search(docs),
    odd: await search(docs, { kind: 'odd' }),
    some: await search(docs, { i: { $in: [0, 2] } }),
    team: await search(team),
  };
}

describe('RAMVec snapshot', () => {
  it('validates the setting at boot, naming each field', () => {
    const prefix = 'VectorDB(RAMVec).settings';
    expect(validateSettings(RAMVecSettings, { snapshot: { path: '/tmp/x.snap' } }, prefix).problems).toEqual([]);
    const { settings } = validateSettings(RAMVecSettings, { snapshot: { path: 'x.snap' } }, prefix);
    expect(settings.snapshot).toMatchObject({ path: 'x.snap', intervalSeconds: 60, onCorrupt: 'fail' });
    expect(
      validateSettings(
        RAMVecSettings,
        { snapshot: { intervalSeconds: -1, onCorrupt: 'maybe', extra: 1 } },
        prefix,
      ).problems.sort(),
    ).toEqual([
      `${prefix}.snapshot.extra: unknown setting`,
      `${prefix}.snapshot.intervalSeconds: must not be less than 0`,
      `${prefix}.snapshot.onCorrupt: must be one of the following values: fail, ignore`,
      `${prefix}.snapshot.path: must be a string`,
      `${prefix}.snapshot.path: should not be empty`,
    ]);
  });

  it('a second connect keeps what was written since the first (it loads once)', async () => {
    const first = make();
    await fill(first);
    await first.disconnect();
    const second = make();
    await second.connect();
    const docs = namespaceOf(alice, 'docs');
    await second.dropDatasource(docs, 'd0');
    await second.connect();
    expect(await second.readDatasource(docs, 'd0')).toBeUndefined();
    expect(await second.readDatasource(docs, 'd2')).toBeDefined();
  });

  it('starts empty without a file, and writes nothing when nothing changed', async () => {
    const connector = make();
    await connector.connect();
    expect(connector.size).toBe(0);
    await connector.disconnect();
    expect(fs.existsSync(file())).toBe(false);
  });

  it.each<RAMVecQuantization>(['none', 'int8', 'bf16'])(
    'round trip (%s): namespaces, ACLs, datasources, metadata, filters and search results survive a restart',
    async (quantization) => {
      const first = make({ quantization });
      await first.connect();
      const namespaces = await fill(first);
      const before = await observe(first, namespaces);
      expect(before.odd!.length).toBeGreaterThan(0);
      expect(before.odd!.length).toBeLessThan(before.all!.length);
      await first.disconnect();

      const embedder = fakeEmbedder();
      const second = make({ quantization }, embedder);
      await second.connect();
      const after = await observe(second, namespaces);
      expect(after).toEqual(before);
      expect(after.one?.createdAt).toBeInstanceOf(Date);
      expect(after.records[1].acl).toBe(
        new ACL().grant(acme, 'owner').grant(AccessCandidate.user('bob'), 'read').serialize(),
      );
      // nothing was embedded again: the vectors came from the file
      expect(embedder.calls).toBe(0);
      // the loaded namespaces take writes as usual, and a later restart sees them
      await second.upsertDatasource(namespaces[0], datasource('d9', 'written after the restart'));
      await second.disconnect();
      const third = make({ quantization });
      await third.connect();
      expect((await third.readDatasource(namespaces[0], 'd9'))?.vectorIds).toHaveLength(1);
      expect(third.size).toBe(after.size + 1);
    },
  );

  it('loaded rows are searched by the worker pool alike', async () => {
    const first = make({ workers: 2, workerThreshold: 0 });
    const namespaces = await fill(first);
    const before = await observe(first, namespaces);
    await first.disconnect();
    const second = make({ workers: 2, workerThreshold: 0 });
    await second.connect();
    expect(await observe(second, namespaces)).toEqual(before);
  });

  it('saves fp32: a snapshot taken with one row format loads into another (int8 → none keeps exact values)', async () => {
    const first = make({ quantization: 'int8' });
    const namespaces = await fill(first);
    const before = await observe(first, namespaces);
    await first.disconnect();
    const second = make({ quantization: 'none' });
    await second.connect();
    expect((await observe(second, namespaces)).all).toEqual(before.all);
  });

  it('fails the boot on a truncated or corrupt file, naming it, and loads nothing', async () => {
    const first = make();
    await fill(first);
    await first.disconnect();
    const good = fs.readFileSync(file());
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated', good.subarray(0, good.length - 100), /truncated/],
      ['empty', Buffer.alloc(0), /truncated/],
      ['not a snapshot', Buffer.from('{"namespaces": []}'.padEnd(200)), /bad magic/],
      ['a flipped vector byte', flip(good, good.length - 40), /checksum mismatch in the vectors/],
      ['a flipped meta byte', flip(good, 40), /checksum mismatch in the header or meta/],
      ['a newer format', patch(good, (b) => b.writeUInt32LE(2, 8)), /format version 2/],
    ];
    for (const [, bytes, reason] of cases) {
      fs.writeFileSync(file(), bytes);
      const connector = make();
      const error = await connector.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreBackendError);
      expect((error as Error).message).toContain(file());
      expect((error as Error).message).toMatch(reason);
      expect(connector.size).toBe(0);
      expect(await connector.readNamespace(namespaceOf(alice, 'docs').key)).toBeUndefined();
    }
  });

  it("with onCorrupt: 'ignore', starts empty with a warning, and the next save replaces the file", async () => {
    fs.writeFileSync(file(), 'garbage');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const connector = make({ snapshot: { onCorrupt: 'ignore' } as never });
      await connector.connect();
      expect(connector.size).toBe(0);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`the snapshot ${file()} is corrupt`));
      await fill(connector);
      await connector.disconnect();
      const again = make();
      await again.connect();
      expect(again.size).toBeGreaterThan(0);
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a snapshot of another dimension, clearly', async () => {
    const first = make({}, fakeEmbedder(24));
    await fill(first);
    await first.disconnect();
    const other = make({}, fakeEmbedder(32));
    const error = await other.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SreConfigError);
    expect((error as Error).message).toContain('VectorDB(RAMVec).settings.snapshot.path');
    expect((error as Error).message).toMatch(/of 24 dimensions, but the embeddings give 32/);
    expect(other.size).toBe(0);
  });

  it('a write that dies before its rename leaves the previous snapshot loadable', async () => {
    const first = make();
    const namespaces = await fill(first);
    const before = await observe(first, namespaces);
    await first.disconnect();
    const tempDir = path.join(dir, '.vectors.snap.tmp');

    // a child process writing a big temp file is killed mid-write
    const child = spawn(process.execPath, [
      '-e',
      `const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(path.join(tempDir, 'dying'))}, 'w');
       const block = Buffer.alloc(1 << 20, 7); process.stdout.write('go\\n');
       for (;;) fs.writeSync(fd, block);`,
    ]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(fs.statSync(path.join(tempDir, 'dying')).size).toBeGreaterThan(0);

    // and this process' own write fails between the flush and the rename
    const second = make();
    await second.connect();
    await second.upsertDatasource(namespaces[0], datasource('lost', 'never makes it to the disk'));
    const place = jest.spyOn(AtomicFiles.prototype, 'place').mockRejectedValueOnce(new Error('power cut'));
    await expect(second.disconnect()).rejects.toThrow(`could not write the snapshot ${file()}`);
    place.mockRestore();

    const third = make();
    await third.connect();
    expect(await observe(third, namespaces)).toEqual(before);
    // the dead writer's leftover is cleared on connect
    expect(fs.readdirSync(tempDir)).toEqual([]);
  });

  it('writes every intervalSeconds only when something changed', async () => {
    const spool = jest.spyOn(AtomicFiles.prototype, 'spool');
    try {
      const connector = make({ snapshot: { intervalSeconds: 0.05 } as never });
      await connector.connect();
      const [docs] = await fill(connector);
      await waitFor(() => fs.existsSync(file()));
      await sleep(120);
      const writes = spool.mock.calls.length;
      const stamp = fs.statSync(file()).mtimeMs;
      await sleep(200);
      expect(spool.mock.calls.length).toBe(writes);
      expect(fs.statSync(file()).mtimeMs).toBe(stamp);
      await connector.dropDatasource(docs, 'd0');
      // the new snapshot is in place once the file is renamed over (a loaded machine takes a while)
      await waitFor(() => fs.statSync(file()).mtimeMs !== stamp, 10_000);
      await sleep(120);
      expect(spool.mock.calls.length).toBe(writes + 1);
      const reader = make();
      await reader.connect();
      expect(await reader.readDatasource(docs, 'd0')).toBeUndefined();
      expect(await reader.readDatasource(docs, 'd2')).toBeDefined();
    } finally {
      spool.mockRestore();
    }
  });

  it('a save during a save waits and then writes what changed meanwhile', async () => {
    const connector = make();
    const [docs] = await fill(connector);
    const first = connector.saveSnapshot();
    await connector.upsertDatasource(docs, datasource('late', 'arrives while the first save runs'));
    await Promise.all([first, connector.saveSnapshot()]);
    const reader = make();
    await reader.connect();
    expect(await reader.readDatasource(docs, 'late')).toBeDefined();
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  return patch(bytes, (copy) => (copy[at] ^= 0xff));
}

function patch(bytes: Buffer, change: (copy: Buffer) => unknown): Buffer {
  const copy = Buffer.from(bytes);
  change(copy);
  return copy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await sleep(10);
  }
}
