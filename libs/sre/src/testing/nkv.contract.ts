import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError } from '../core/errors';
import { NKV_OPERATIONS, type NKVBackend, type NKVStoredEntry } from '../nkv/nkv.backend';
import { encodeNKVValue, NKVService } from '../nkv/nkv.service';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import { timedTest, useFreshBackend, useRecordingView } from './contract-harness';

export interface NKVBackendSuiteOptions {
  /** Per-test timeout in milliseconds, for backends over the network (default: Jest's). */
  timeout?: number;
}

/** Who belongs to which team in the policy tests; `broken` makes the resolver throw, `odd` answers a bad id. */
const TEAMS: Record<string, string> = { alice: 'team-a', anna: 'team-a', bob: 'team-b', odd: 'team/a' };

const RESOLVER: TeamResolver = {
  getCandidateTeam: async (candidate) => {
    if (candidate.id === 'broken') throw new Error('account is down');
    return candidate.role === 'team' ? candidate.id : TEAMS[candidate.id];
  },
};

const SECRET = 'nkv-contract-secret-4711';

/** Names that a naive join, a percent or case folding, or a path normalisation would alias. */
const ALIASING: readonly (readonly [string, string, string])[] = [
  ['t', 'a:b', 'c'],
  ['t', 'a', 'b:c'],
  ['t', 'a/b', 'c'],
  ['t', 'a', 'b/c'],
  ['t', 'a', 'b'],
  ['t', 'a', 'B'],
  ['t', 'A', 'b'],
  ['T', 'a', 'b'],
  ['t', 'a', 'b.'],
  ['t', 'a', 'b..'],
  ['t', 'a', '.b'],
  ['t', 'a', 'b:'],
  ['t', 'a', 'b%3A'],
  ['t', 'a', 'b%253A'],
  ['t', 'a', 'b '],
  ['t', 'a', 'b\\'],
  ['t', 'a', 'b//'],
  ['t', 'a', 'b/'],
  ['t', 'a', '_b'],
  ['t-a', 'b', 'c'],
  ['t', 'a-b', 'c'],
  ['t', 'a', 'b-c'],
  ['t', 'team_t:a', 'b'],
  ['t', 'a b', 'c'],
  ['t', 'a_b', 'c'],
  ['t', '["t","a"]', 'b'],
];

/** Keys and namespaces a backend must keep exactly as given. */
const SPECIAL = [
  '*',
  '?',
  '[a-z]',
  '{a,b}',
  '\\',
  '.',
  '..',
  '/',
  '/leading',
  'trailing/',
  'a//b',
  '~',
  '%',
  '%2F',
  'ключ',
  '鍵',
  '🔑',
  ' spaced ',
  'quote"s',
  "apos'",
  '<tag>',
  '$(rm -rf /)',
  'a:b:c',
  'x'.repeat(300),
];

const sortByKey = (entries: NKVStoredEntry[]): NKVStoredEntry[] =>
  [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/**
 * The contract of an NKV backend, then the NKV policy over it (through the real `NKVService`): run it
 * in your connector's spec, `describeNKVBackend('MyNKV', () => new MyNKVConnector(settings, ctx))`.
 * Each test gets a fresh backend, connected, and disconnects it after; a persistent backend must
 * start empty (point it at a fresh folder or key prefix in `makeBackend`).
 */
export function describeNKVBackend(
  label: string,
  makeBackend: () => NKVBackend | Promise<NKVBackend>,
  options: NKVBackendSuiteOptions = {},
): void {
  // every test of the suite takes the caller's timeout (remote backends are slower than Jest's default)
  const test = timedTest(options.timeout);

  describe(`${label}: NKV backend contract`, () => {
    const { backend } = useFreshBackend(makeBackend);
    /** `view()`: the backend as a service sees it; `calls`: what the services of this test called, in order. */
    const { calls, view } = useRecordingView(backend, NKV_OPERATIONS);

    const serve = (over: NKVBackend = view()): NKVService =>
      new NKVService(over, createConnectorContext({ subsystem: 'NKV', connector: label, secrets: [SECRET] }), {
        account: RESOLVER,
      });

    describe('operations', () => {
      test('answers "nothing" for a key, a namespace and a team never written', async () => {
        expect(await backend().readEntry('team-a', 'ns', 'k')).toBeUndefined();
        expect(await backend().hasEntry('team-a', 'ns', 'k')).toBe(false);
        expect(await backend().listEntries('team-a', 'ns')).toEqual([]);
        await expect(backend().deleteEntry('team-a', 'ns', 'k')).resolves.toBeUndefined();
        await expect(backend().deleteNamespace('team-a', 'ns')).resolves.toBeUndefined();
        expect(await backend().listEntries('team-a', 'ns')).toEqual([]);
      });

      test('writes, reads, overwrites and deletes one entry', async () => {
        await backend().writeEntry('team-a', 'ns', 'k', 'j:1');
        expect(await backend().readEntry('team-a', 'ns', 'k')).toBe('j:1');
        expect(await backend().hasEntry('team-a', 'ns', 'k')).toBe(true);
        await backend().writeEntry('team-a', 'ns', 'k', 'j:"second"');
        expect(await backend().readEntry('team-a', 'ns', 'k')).toBe('j:"second"');
        expect(await backend().listEntries('team-a', 'ns')).toEqual([{ key: 'k', value: 'j:"second"' }]);
        await backend().deleteEntry('team-a', 'ns', 'k');
        expect(await backend().readEntry('team-a', 'ns', 'k')).toBeUndefined();
        expect(await backend().hasEntry('team-a', 'ns', 'k')).toBe(false);
        expect(await backend().listEntries('team-a', 'ns')).toEqual([]);
        await backend().writeEntry('team-a', 'ns', 'k', 'j:3');
        expect(await backend().readEntry('team-a', 'ns', 'k')).toBe('j:3');
      });

      test('deletes one key and leaves the rest of its namespace', async () => {
        await backend().writeEntry('team-a', 'ns', 'a', 'j:1');
        await backend().writeEntry('team-a', 'ns', 'b', 'j:2');
        await backend().deleteEntry('team-a', 'ns', 'a');
        await backend().deleteEntry('team-a', 'ns', 'never-written');
        expect(await backend().listEntries('team-a', 'ns')).toEqual([{ key: 'b', value: 'j:2' }]);
      });

      test('lists exactly one namespace of one team: never a namespace it is a prefix of', async () => {
        const others: [string, string][] = [
          ['team-a', 'ns2'],
          ['team-a', 'ns:sub'],
          ['team-a', 'ns/sub'],
          ['team-a', 'ns.x'],
          ['team-a', 'ns '],
          ['team-a', 'n'],
          ['team-a', 'NS'],
          ['team-a', 'ns*'],
          ['team-b', 'ns'],
          ['team-a-b', 'ns'],
          ['team', 'a:ns'],
        ];
        for (const [team, ns] of others) await backend().writeEntry(team, ns, 'k', `j:"${team} ${ns}"`);
        await backend().writeEntry('team-a', 'ns', 'k1', 'j:1');
        await backend().writeEntry('team-a', 'ns', 'k:2', 'j:2');
        expect(sortByKey(await backend().listEntries('team-a', 'ns'))).toEqual([
          { key: 'k1', value: 'j:1' },
          { key: 'k:2', value: 'j:2' },
        ]);
        for (const [team, ns] of others)
          expect(await backend().listEntries(team, ns)).toEqual([{ key: 'k', value: `j:"${team} ${ns}"` }]);
      });

      test('deletes exactly one namespace of one team: never a namespace it is a prefix of', async () => {
        const others: [string, string][] = [
          ['team-a', 'ns2'],
          ['team-a', 'ns:sub'],
          ['team-a', 'ns/sub'],
          ['team-a', 'n'],
          ['team-a', 'ns*'],
          ['team-b', 'ns'],
          ['team-a-b', 'ns'],
        ];
        for (const [team, ns] of others) await backend().writeEntry(team, ns, 'k', 'j:"kept"');
        await backend().writeEntry('team-a', 'ns', 'k1', 'j:1');
        await backend().writeEntry('team-a', 'ns', 'k2', 'j:2');
        await backend().deleteNamespace('team-a', 'ns');
        expect(await backend().listEntries('team-a', 'ns')).toEqual([]);
        expect(await backend().hasEntry('team-a', 'ns', 'k1')).toBe(false);
        for (const [team, ns] of others) expect(await backend().readEntry(team, ns, 'k')).toBe('j:"kept"');
        await backend().writeEntry('team-a', 'ns', 'k1', 'j:"again"');
        expect(await backend().listEntries('team-a', 'ns')).toEqual([{ key: 'k1', value: 'j:"again"' }]);
      });

      test('never aliases distinct (team, namespace, key) triples', async () => {
        for (const [i, [team, ns, key]] of ALIASING.entries()) await backend().writeEntry(team, ns, key, `j:${i}`);
        for (const [i, [team, ns, key]] of ALIASING.entries())
          expect([team, ns, key, await backend().readEntry(team, ns, key)]).toEqual([team, ns, key, `j:${i}`]);
        const listed = await backend().listEntries('t', 'a');
        const expected = ALIASING.map(([team, ns, key], i) => ({ team, ns, key, value: `j:${i}` }))
          .filter(({ team, ns }) => team === 't' && ns === 'a')
          .map(({ key, value }) => ({ key, value }));
        expect(sortByKey(listed)).toEqual(sortByKey(expected));
      });

      test('keeps keys and namespaces with special characters exactly as given', async () => {
        for (const [i, name] of SPECIAL.entries()) {
          await backend().writeEntry('team-a', 'special', name, `j:${i}`);
          await backend().writeEntry('team-a', name, 'k', `j:${i}`);
        }
        expect(sortByKey(await backend().listEntries('team-a', 'special'))).toEqual(
          sortByKey(SPECIAL.map((key, i) => ({ key, value: `j:${i}` }))),
        );
        for (const [i, name] of SPECIAL.entries()) {
          expect([name, await backend().readEntry('team-a', 'special', name)]).toEqual([name, `j:${i}`]);
          expect([name, await backend().listEntries('team-a', name)]).toEqual([name, [{ key: 'k', value: `j:${i}` }]]);
        }
        await backend().deleteNamespace('team-a', '*');
        expect(await backend().readEntry('team-a', '[a-z]', 'k')).toBe(`j:${SPECIAL.indexOf('[a-z]')}`);
        await backend().deleteEntry('team-a', 'special', '*');
        expect(await backend().hasEntry('team-a', 'special', '?')).toBe(true);
        expect(await backend().listEntries('team-a', 'special')).toHaveLength(SPECIAL.length - 1);
      });

      test('takes the longest names the service allows (256-byte namespaces, 1024-byte keys)', async () => {
        const ns = 'é'.repeat(128);
        const keys = ['k'.repeat(1024), `${'k'.repeat(1023)}l`, `${'鍵'.repeat(341)}k`];
        for (const [i, key] of keys.entries()) await backend().writeEntry('team-a', ns, key, `j:${i}`);
        for (const [i, key] of keys.entries()) expect(await backend().readEntry('team-a', ns, key)).toBe(`j:${i}`);
        expect(sortByKey(await backend().listEntries('team-a', ns))).toEqual(
          sortByKey(keys.map((key, i) => ({ key, value: `j:${i}` }))),
        );
        expect(await backend().listEntries('team-a', 'é'.repeat(127))).toEqual([]);
      });

      test('stores values verbatim, large ones included', async () => {
        const values = [
          encodeNKVValue('text with "quotes", \\ and \n a break'),
          encodeNKVValue({ unicode: 'ключ 鍵 🔑', line: '\u2028' }),
          encodeNKVValue(Buffer.from([0, 1, 2, 254, 255])),
          encodeNKVValue('x'.repeat(2 * 1024 * 1024)),
          encodeNKVValue(Buffer.alloc(1024 * 1024, 7)),
          'b:',
          'j:""',
        ];
        for (const [i, value] of values.entries()) await backend().writeEntry('team-a', 'values', `k${i}`, value);
        for (const [i, value] of values.entries())
          expect((await backend().readEntry('team-a', 'values', `k${i}`)) === value).toBe(true);
        const listed = new Map((await backend().listEntries('team-a', 'values')).map(({ key, value }) => [key, value]));
        expect(listed.size).toBe(values.length);
        for (const [i, value] of values.entries()) expect(listed.get(`k${i}`) === value).toBe(true);
      });

      test('loses no update under concurrent writers, and a concurrent deleteAll touches only its namespace', async () => {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => backend().writeEntry('team-a', 'busy', `k${i}`, `j:${i}`)),
        );
        expect(await backend().listEntries('team-a', 'busy')).toHaveLength(50);
        const contenders = Array.from({ length: 20 }, (_, i) => `j:"${String(i).repeat(1000)}"`);
        await Promise.all(contenders.map((value) => backend().writeEntry('team-a', 'busy', 'same', value)));
        expect(contenders).toContain(await backend().readEntry('team-a', 'busy', 'same'));
        await backend().writeEntry('team-a', 'doomed', 'k', 'j:0');
        await Promise.all([
          backend().deleteNamespace('team-a', 'doomed'),
          ...Array.from({ length: 20 }, (_, i) => backend().writeEntry('team-a', 'busy2', `k${i}`, `j:${i}`)),
        ]);
        expect(await backend().listEntries('team-a', 'doomed')).toEqual([]);
        expect(await backend().listEntries('team-a', 'busy2')).toHaveLength(20);
        expect(await backend().listEntries('team-a', 'busy')).toHaveLength(51);
      });
    });

    describe('NKVService policy over this backend', () => {
      test('round-trips every value type of the serialization table through the one encoding', async () => {
        const alice = serve().user('alice');
        const values = [
          'text',
          '',
          'ключ 🔑',
          0,
          42.5,
          -7,
          1e300,
          false,
          true,
          null,
          { a: [1, 'b'], nested: { deep: null } },
          {},
          [],
          [1, 'two', { three: 3 }],
          Buffer.from([0, 255, 7]),
          Buffer.alloc(0),
        ];
        for (const [i, value] of values.entries()) await alice.set('types', `k${i}`, value);
        for (const [i, value] of values.entries()) expect([i, await alice.get('types', `k${i}`)]).toEqual([i, value]);
        expect(Buffer.isBuffer(await alice.get('types', `k${values.length - 2}`))).toBe(true);
        await alice.set('types', 'u8', new Uint8Array([1, 2]));
        const bytes = await alice.get('types', 'u8');
        expect(Buffer.isBuffer(bytes)).toBe(true);
        expect(bytes).toEqual(Buffer.from([1, 2]));
        const listed = new Map((await alice.list('types')).map(({ key, data }) => [key, data]));
        expect(listed.get('k3')).toBe(0);
        expect(listed.get('k7')).toBe(false);
        expect(Buffer.isBuffer(listed.get('u8'))).toBe(true);
      });

      test('round-trips large values', async () => {
        const alice = serve().user('alice');
        const big = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 256;
        await alice.set('large', 'bytes', big);
        await alice.set('large', 'text', 'é'.repeat(512 * 1024));
        await alice.set('large', 'json', { items: Array.from({ length: 20_000 }, (_, i) => ({ i })) });
        expect((await alice.get<Buffer>('large', 'bytes'))!.equals(big)).toBe(true);
        expect(await alice.get('large', 'text')).toBe('é'.repeat(512 * 1024));
        expect(((await alice.get('large', 'json')) as { items: unknown[] }).items).toHaveLength(20_000);
      });

      test('answers missing keys and namespaces without an error', async () => {
        const alice = serve().user('alice');
        expect(await alice.get('nowhere', 'k')).toBeUndefined();
        expect(await alice.exists('nowhere', 'k')).toBe(false);
        expect(await alice.list('nowhere')).toEqual([]);
        await expect(alice.delete('nowhere', 'k')).resolves.toBeUndefined();
        await expect(alice.deleteAll('nowhere')).resolves.toBeUndefined();
      });

      test('rejects values JSON cannot carry before the backend sees them', async () => {
        const alice = serve().user('alice');
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        for (const bad of [undefined, () => 1, Symbol('s'), NaN, Infinity, -Infinity, 10n, cyclic, { n: 1n }]) {
          await expect(alice.set('ns', 'k', bad as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        }
        expect(calls).toEqual([]);
        expect(await alice.exists('ns', 'k')).toBe(false);
      });

      test('rejects bad names on every operation before the backend sees them', async () => {
        const alice = serve().user('alice');
        const badNames: unknown[] = ['', 'a\u0000b', 'line\nbreak', 'tab\t', 'del\u007f', 123, undefined, null];
        for (const bad of badNames) {
          const name = bad as string;
          for (const attempt of [
            () => alice.get(name, 'k'),
            () => alice.set(name, 'k', 1),
            () => alice.delete(name, 'k'),
            () => alice.exists(name, 'k'),
            () => alice.list(name),
            () => alice.deleteAll(name),
            () => alice.get('ns', name),
            () => alice.set('ns', name, 1),
            () => alice.delete('ns', name),
            () => alice.exists('ns', name),
          ]) {
            await expect(attempt()).rejects.toBeInstanceOf(SreInvalidInputError);
          }
        }
        await expect(alice.list('n'.repeat(257))).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(alice.set('ns', 'k'.repeat(1025), 1)).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(alice.set('ns', '鍵'.repeat(342), 1)).rejects.toBeInstanceOf(SreInvalidInputError);
        expect(calls).toEqual([]);
        await alice.set('n'.repeat(256), 'k'.repeat(1024), 'longest');
        expect(await alice.get('n'.repeat(256), 'k'.repeat(1024))).toBe('longest');
      });

      test('shares a namespace inside a team and isolates it from another team', async () => {
        const service = serve();
        await service.user('alice').set('shared', 'k:1/.x', 'from alice');
        expect(await service.user('anna').get('shared', 'k:1/.x')).toBe('from alice');
        expect(await service.team('team-a').list('shared')).toEqual([{ key: 'k:1/.x', data: 'from alice' }]);
        expect(await service.user('bob').get('shared', 'k:1/.x')).toBeUndefined();
        expect(await service.user('bob').exists('shared', 'k:1/.x')).toBe(false);
        expect(await service.user('bob').list('shared')).toEqual([]);
        await service.user('bob').set('shared', 'k:1/.x', 'from bob');
        await service.user('bob').deleteAll('shared');
        await service.agent('bob').delete('shared', 'k:1/.x');
        expect(await service.user('alice').get('shared', 'k:1/.x')).toBe('from alice');
        await service.team('team-a').delete('shared', 'k:1/.x');
        expect(await service.user('anna').exists('shared', 'k:1/.x')).toBe(false);
      });

      test('lists and deletes exactly the named namespace through the service', async () => {
        const alice = serve().user('alice');
        await alice.set('ns', 'a:b', 1);
        await alice.set('ns', 'a/b', 2);
        await alice.set('ns', 'a.b', 3);
        for (const other of ['ns2', 'ns:sub', 'ns/sub', 'n']) await alice.set(other, 'k', other);
        const listed = (await alice.list('ns')).sort((x, y) => (x.key < y.key ? -1 : 1));
        expect(listed).toEqual([
          { key: 'a.b', data: 3 },
          { key: 'a/b', data: 2 },
          { key: 'a:b', data: 1 },
        ]);
        await alice.deleteAll('ns');
        expect(await alice.list('ns')).toEqual([]);
        for (const other of ['ns2', 'ns:sub', 'ns/sub', 'n']) expect(await alice.get(other, 'k')).toBe(other);
      });

      test('denies a candidate without a valid team on every operation, before the backend sees it', async () => {
        const service = serve();
        const nobodies = [
          service.user('carol'),
          service.agent('carol'),
          service.requester(AccessCandidate.public()),
          service.user('broken'),
          service.user('odd'),
        ];
        for (const nobody of nobodies) {
          for (const attempt of [
            () => nobody.get('shared', 'k'),
            () => nobody.set('shared', 'k', 1),
            () => nobody.delete('shared', 'k'),
            () => nobody.exists('shared', 'k'),
            () => nobody.list('shared'),
            () => nobody.deleteAll('shared'),
          ]) {
            await expect(attempt()).rejects.toBeInstanceOf(SreAccessDeniedError);
          }
        }
        expect(calls).toEqual([]);
      });

      test('answers hasAccess for team namespaces only', async () => {
        const service = serve();
        expect(await service.hasAccess(AccessCandidate.user('anna'), 'write', 'teams/team-a/nkv/shared')).toBe(true);
        expect(await service.hasAccess(AccessCandidate.team('team-a'), ['read', 'write'], 'teams/team-a/nkv/a/b')).toBe(
          true,
        );
        expect(await service.hasAccess(AccessCandidate.team('team-b'), 'read', 'teams/team-a/nkv/shared')).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('bob'), 'read', 'teams/team-a/nkv/shared')).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('carol'), 'read', 'teams/team-a/nkv/shared')).toBe(false);
        expect(await service.hasAccess(AccessCandidate.public(), 'read', 'teams/team-a/nkv/shared')).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('alice'), 'read', 'users/alice/nkv/x')).toBe(false);
        expect(await service.hasAccess(AccessCandidate.user('alice'), 'read', 'shared')).toBe(false);
      });

      test('reports a corrupt stored value as a backend error that does not quote it', async () => {
        await backend().writeEntry('team-a', 'corrupt', 'k', 'plain-text-not-encoded');
        const alice = serve().user('alice');
        const error = await alice.get('corrupt', 'k').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SreBackendError);
        expect((error as Error).message).not.toContain('plain-text-not-encoded');
        await expect(alice.list('corrupt')).rejects.toBeInstanceOf(SreBackendError);
      });

      test('wraps backend failures into typed errors naming NKV and the connector, secrets scrubbed', async () => {
        const failing = serve(view(new Error(`backend down (token ${SECRET})`))).user('alice');
        for (const attempt of [
          () => failing.get('ns', 'k'),
          () => failing.set('ns', 'k', 1),
          () => failing.delete('ns', 'k'),
          () => failing.exists('ns', 'k'),
          () => failing.list('ns'),
          () => failing.deleteAll('ns'),
        ]) {
          const error = (await attempt().catch((e: unknown) => e)) as SreBackendError;
          expect(error).toBeInstanceOf(SreBackendError);
          expect([error.subsystem, error.connector]).toEqual(['NKV', label]);
          expect(error.message).toContain('backend down');
          expect(error.message).not.toContain(SECRET);
        }
        expect(calls).toHaveLength(6);
      });
    });
  });
}
