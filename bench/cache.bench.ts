import { CacheService } from '../libs/sre/src/cache/cache.service';
import { RAMCacheConnector, RAMCacheSettings } from '../libs/sre/src/cache/connectors/ram.connector';
import { createConnectorContext } from '../libs/sre/src/core/backend';
import { AccessCandidate } from '../libs/sre/src/security/access-candidate';
import { ACL } from '../libs/sre/src/security/acl';
import type { TeamResolver } from '../libs/sre/src/security/team-resolver';
import { BenchResult, measure, measurePair, printComparison, heapPerEntry, PAIR_ROUNDS } from './util';

const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:key:${i}`);
const VALUE = 'x'.repeat(64);
const OBJECT_VALUE = { id: 42, name: 'bench', tags: ['a', 'b', 'c'], nested: { ok: true, n: 1.5 } };

/** Resolves teams the way an Account connector does: an async lookup in memory. */
function teamResolver(teams: Record<string, string>): TeamResolver {
  const byId = new Map(Object.entries(teams));
  return { getCandidateTeam: async (candidate) => (candidate.role === 'team' ? candidate.id : byId.get(candidate.id)) };
}

async function ramCache(teams: Record<string, string> = {}): Promise<CacheService> {
  const context = createConnectorContext({ subsystem: 'Cache', connector: 'RAM' });
  const cache = new CacheService(new RAMCacheConnector(new RAMCacheSettings(), context), context, {
    account: teamResolver(teams),
  });
  await cache.connect();
  return cache;
}

/**
 * `CacheService` over the RAM connector through `requester()` (every call validates the key and checks the ACL) against a raw
 * `Map` doing the same work without either. The ratio is the price of the access checks, the
 * copies and the promise per call.
 */
export async function runCacheBench(): Promise<void> {
  const cache = await ramCache({ 'bench-reader': 'bench-team' });
  const agent = cache.requester(AccessCandidate.agent('bench'));
  const map = new Map<string, unknown>();

  // the like-for-like floor: a Map behind the same promise-returning API the service has
  const asyncMap = {
    get: async (key: string) => map.get(key),
    set: async (key: string, value: unknown) => void map.set(key, value),
  };
  // each next to its floor in alternating rounds: on this shared 2-core machine a rate measured
  // alone drifts by a third from one second to the next, and the drift would decide the ratio
  const setGetPair = await measurePair(
    measure,
    {
      name: 'RAM set+get (agent, ACL checked)',
      op: async (i) => {
        const key = KEYS[i % KEYS.length];
        await agent.set(key, VALUE);
        return agent.get(key);
      },
    },
    {
      name: 'async Map set+get',
      op: async (i) => {
        const key = KEYS[i % KEYS.length];
        await asyncMap.set(key, VALUE);
        return asyncMap.get(key);
      },
    },
    PAIR_ROUNDS,
  );
  const setGet = setGetPair.subject;
  const mapSetGet = await measure('Map set+get', (i) => {
    const key = KEYS[i % KEYS.length];
    map.set(key, VALUE);
    return map.get(key);
  });

  const getPair = await measurePair(
    measure,
    { name: 'RAM get (agent, ACL checked)', op: (i) => agent.get(KEYS[i % KEYS.length]) },
    { name: 'async Map get', op: (i) => asyncMap.get(KEYS[i % KEYS.length]) },
    PAIR_ROUNDS,
  );
  const get = getPair.subject;
  const mapGet = await measure('Map.get', (i) => map.get(KEYS[i % KEYS.length]));

  const perCall = await measure('RAM get, cache.agent(id) per call', (i) =>
    cache.agent('bench').get(KEYS[i % KEYS.length]),
  );

  for (const key of KEYS) await agent.set(`obj:${key}`, OBJECT_VALUE);
  for (const key of KEYS) map.set(`obj:${key}`, structuredClone(OBJECT_VALUE));
  const objectGet = await measure('RAM get object (JSON copy)', (i) => agent.get(`obj:${KEYS[i % KEYS.length]}`));
  const mapObjectGet = await measure('Map.get object (no copy)', (i) => map.get(`obj:${KEYS[i % KEYS.length]}`));

  // keys owned by another agent, shared with a team: the reader is granted through Account
  const owner = cache.requester(AccessCandidate.agent('bench-owner'));
  const shared = new ACL().addAccess('team', 'bench-team', 'read');
  for (const key of KEYS) await owner.set(`team:${key}`, VALUE, shared);
  const reader = cache.requester(AccessCandidate.agent('bench-reader'));
  const teamGet = await measure('RAM get granted via team ACL', (i) => reader.get(`team:${KEYS[i % KEYS.length]}`));
  for (const key of KEYS) map.set(`team:${key}`, VALUE);
  const mapTeamGet = await measure('Map.get', (i) => map.get(`team:${KEYS[i % KEYS.length]}`));

  const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [
    setGetPair,
    getPair,
    { subject: setGet, baseline: mapSetGet },
    { subject: get, baseline: mapGet },
    { subject: perCall, baseline: mapGet },
    { subject: objectGet, baseline: mapObjectGet },
    { subject: teamGet, baseline: mapTeamGet },
  ];
  printComparison('Cache (RAM connector vs raw Map; one op = one awaited call)', rows);
  await cache.disconnect();
  await printEntryBytes();
}

const MEMORY_ENTRIES = 100_000;

/**
 * What one small entry (a 64-character string under a fresh key, owner-only ACL) costs in the RAM
 * cache, through the service, next to the same key and value in a raw Map.
 */
export async function printEntryBytes(): Promise<void> {
  if (!global.gc) console.log('\n(entry bytes need node --expose-gc)');
  const ram = await heapPerEntry(MEMORY_ENTRIES, async () => {
    const cache = await ramCache();
    const agent = cache.requester(AccessCandidate.agent('bench'));
    for (let i = 0; i < MEMORY_ENTRIES; i++) await agent.set(`bench:mem:${i}`, VALUE);
    return cache;
  });
  const map = await heapPerEntry(MEMORY_ENTRIES, async () => {
    const raw = new Map<string, string>();
    for (let i = 0; i < MEMORY_ENTRIES; i++) raw.set(`bench:mem:${i}`, VALUE);
    return raw;
  });
  console.log(`\n## Cache: heap bytes per entry (${MEMORY_ENTRIES.toLocaleString('en-US')} entries, 64-char value)`);
  console.log('| store | bytes/entry | ratio to Map |\n|---|---:|---:|');
  console.log(`| RAM cache (service) | ${ram.toFixed(0)} | ${(ram / map).toFixed(2)} |`);
  console.log(`| raw Map | ${map.toFixed(0)} | 1.00 |`);
}
