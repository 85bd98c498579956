import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createConnectorContext } from '../libs/sre/src/core/backend';
import { AccessCandidate } from '../libs/sre/src/security/access-candidate';
import { OWN_TEAM_ONLY } from '../libs/sre/src/security/team-resolver';
import { JSONFileVaultConnector } from '../libs/sre/src/vault/connectors/json-file-vault.connector';
import { VaultService } from '../libs/sre/src/vault/vault.service';
import { BenchResult, measure, measurePair, printComparison } from './util';

const KEY_COUNT = 100;
const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `key-${String(i).padStart(3, '0')}`);

/**
 * `VaultService` over the JSON-file vault (a team of 100 keys, plus a shared team back-filling it)
 * through `requester()` against an async `Map` doing the same lookups, measured in alternating rounds.
 * The ratio is the price of key validation, the shared-team fallback and the error wrapping.
 */
export async function runVaultBench(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-vault-bench-'));
  const file = path.join(root, 'vault.json');
  const own = Object.fromEntries(KEYS.map((key) => [key, `value of ${key}`]));
  const shared = Object.fromEntries(KEYS.slice(0, 10).map((key) => [`shared-${key}`, `shared ${key}`]));
  fs.writeFileSync(file, JSON.stringify({ bench: own, common: shared }), { mode: 0o600 });
  const context = createConnectorContext({ subsystem: 'Vault', connector: 'JSONFileVault', dataDir: root });
  const vault = new VaultService(new JSONFileVaultConnector({ file, shared: 'common' }, context), context, {
    account: OWN_TEAM_ONLY,
  });
  await vault.connect();
  const team = vault.requester(AccessCandidate.team('bench'));
  const map = new Map(Object.entries(own));
  const sharedMap = new Map(Object.entries(shared));
  try {
    const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [
      await measurePair(
        measure,
        { name: 'get (own key)', op: (i) => team.get(KEYS[i % KEY_COUNT]) },
        { name: 'async Map.get', op: async (i) => map.get(KEYS[i % KEY_COUNT]) },
      ),
      await measurePair(
        measure,
        { name: 'get (shared key, fallback)', op: (i) => team.get(`shared-${KEYS[i % 10]}`) },
        {
          name: 'async Map.get x2',
          op: async (i) => map.get(`shared-${KEYS[i % 10]}`) ?? sharedMap.get(`shared-${KEYS[i % 10]}`),
        },
      ),
      await measurePair(
        measure,
        { name: 'exists', op: (i) => team.exists(KEYS[i % KEY_COUNT]) },
        { name: 'async Map.has', op: async (i) => map.has(KEYS[i % KEY_COUNT]) },
      ),
      await measurePair(
        measure,
        { name: `listKeys (${KEY_COUNT} + 10 shared keys)`, op: () => team.listKeys() },
        // the raw floor still hands out a copy: a caller may sort or splice what it gets
        { name: 'async [...Map.keys()]', op: async () => [...map.keys()] },
      ),
    ];
    printComparison('Vault (JSONFileVault vs async Map; one op = one awaited call)', rows);
  } finally {
    await vault.disconnect();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
