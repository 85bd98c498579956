import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../libs/sre/src/core/backend';
import { LocalStorageNKVConnector } from '../libs/sre/src/nkv/connectors/local-storage.connector';
import { RAMNKVConnector } from '../libs/sre/src/nkv/connectors/ram.connector';
import type { NKVBackend } from '../libs/sre/src/nkv/nkv.backend';
import { NKVService } from '../libs/sre/src/nkv/nkv.service';
import type { TeamResolver } from '../libs/sre/src/security/team-resolver';
import { BenchResult, measure, measurePair, printComparison, heapPerEntry, PAIR_ROUNDS } from './util';

const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:key:${i}`);
const VALUE = { id: 42, name: 'bench', tags: ['a', 'b', 'c'], nested: { ok: true, n: 1.5 } };
const TEXT = JSON.stringify(VALUE);

/** The Account lookup an NKV call makes: a team candidate is its own team, an agent maps to one. */
const RESOLVER: TeamResolver = {
  getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : 'bench-team'),
};

async function serve(connector: string, backend: NKVBackend): Promise<NKVService> {
  const context = createConnectorContext({ subsystem: 'NKV', connector });
  const service = new NKVService(backend, context, { account: RESOLVER });
  await service.connect();
  return service;
}

/**
 * `NKVService` over the RAM connector against a raw `Map`, and over the LocalStorage connector
 * (with and without fsync) against raw `fs.promises.writeFile` + `readFile` of one file per key,
 * all in this run. The ratio is the price of validation, the team lookup, the value encoding and,
 * for LocalStorage, the temp file + rename (+ fsync of file and folder) that make a write atomic.
 */
export async function runNKVBench(): Promise<void> {
  const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [];

  const ram = await serve('RAM', new RAMNKVConnector());
  const agent = ram.agent('bench');
  const map = new Map<string, string>();
  // each next to its like-for-like floor (the same Map work behind a promise-returning API) in
  // alternating rounds, so that the machine's drift weighs on both alike
  const setPair = await measurePair(
    measure,
    { name: 'RAM set (service)', op: (i) => agent.set('ns', KEYS[i % KEYS.length], VALUE) },
    {
      name: 'async Map set (JSON text)',
      op: async (i) => void map.set(KEYS[i % KEYS.length], JSON.stringify(VALUE)),
    },
    PAIR_ROUNDS,
  );
  const ramSet = setPair.subject;
  const mapSet = await measure('Map.set (JSON text)', (i) => map.set(KEYS[i % KEYS.length], JSON.stringify(VALUE)));
  for (const key of KEYS) await agent.set('ns', key, VALUE);
  for (const key of KEYS) map.set(key, TEXT);
  const getPair = await measurePair(
    measure,
    { name: 'RAM get (service)', op: (i) => agent.get('ns', KEYS[i % KEYS.length]) },
    { name: 'async Map get (JSON parse)', op: async (i) => JSON.parse(map.get(KEYS[i % KEYS.length])!) },
    PAIR_ROUNDS,
  );
  const ramGet = getPair.subject;
  const mapGet = await measure('Map.get (JSON parse)', (i) => JSON.parse(map.get(KEYS[i % KEYS.length])!));
  rows.push(setPair, getPair, { subject: ramSet, baseline: mapSet }, { subject: ramGet, baseline: mapGet });
  await ram.disconnect();
  const entryBytes = await nkvEntryBytes();

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-nkv-bench-'));
  try {
    const raw = path.join(root, 'raw');
    fs.mkdirSync(raw);
    const rawFile = (i: number) => path.join(raw, String(i % KEYS.length));
    const rawSet = await measure('fs.writeFile (no temp, no fsync)', (i) => fs.promises.writeFile(rawFile(i), TEXT), 1);
    for (let i = 0; i < KEYS.length; i++) await fs.promises.writeFile(rawFile(i), TEXT);
    const rawGet = await measure(
      'fs.readFile',
      async (i) => JSON.parse(await fs.promises.readFile(rawFile(i), 'utf8')),
      1,
    );
    for (const fsync of [false, true]) {
      const label = `LocalStorage${fsync ? '' : ', fsync off'}`;
      const local = await serve(
        'LocalStorage',
        new LocalStorageNKVConnector({ folder: path.join(root, label), fsync }),
      );
      const writer = local.agent('bench');
      const set = await measure(`${label} set (service)`, (i) => writer.set('ns', KEYS[i % KEYS.length], VALUE), 1);
      for (const key of KEYS) await writer.set('ns', key, VALUE); // every get finds its key
      const get = await measure(`${label} get (service)`, (i) => writer.get('ns', KEYS[i % KEYS.length]), 1);
      rows.push({ subject: set, baseline: rawSet }, { subject: get, baseline: rawGet });
      await local.disconnect();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  printComparison('NKV (RAM vs raw Map, LocalStorage vs raw fs; one op = one awaited call)', rows);
  console.log(`\n## NKV: heap bytes per entry (${MEMORY_ENTRIES.toLocaleString('en-US')} entries, the bench value)`);
  console.log('| store | bytes/entry | ratio to Map |\n|---|---:|---:|');
  console.log(`| RAM NKV (service) | ${entryBytes.ram.toFixed(0)} | ${(entryBytes.ram / entryBytes.map).toFixed(2)} |`);
  console.log(`| raw Map of JSON text | ${entryBytes.map.toFixed(0)} | 1.00 |`);
}

const MEMORY_ENTRIES = 100_000;

/** One entry of the RAM NKV through the service next to the same key and JSON text in a raw Map. */
async function nkvEntryBytes(): Promise<{ ram: number; map: number }> {
  const ram = await heapPerEntry(MEMORY_ENTRIES, async () => {
    const service = await serve('RAM', new RAMNKVConnector());
    const agent = service.agent('bench');
    for (let i = 0; i < MEMORY_ENTRIES; i++) await agent.set('ns', `bench:mem:${i}`, VALUE);
    return service;
  });
  const map = await heapPerEntry(MEMORY_ENTRIES, async () => {
    const raw = new Map<string, string>();
    for (let i = 0; i < MEMORY_ENTRIES; i++) raw.set(`bench:mem:${i}`, JSON.stringify(VALUE));
    return raw;
  });
  return { ram, map };
}
