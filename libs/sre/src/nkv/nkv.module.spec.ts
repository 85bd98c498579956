import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectNKV } from './nkv.decorators';
import { NKVModule } from './nkv.module';
import { NKV_DEFINITION } from './nkv.registry';
import { NKVService, NKVStoredEntry } from './nkv.service';

/** A real, minimal backend: one map keyed by the JSON of (team, namespace, key), which never aliases. */
class MemoryNKV extends NKVService {
  private readonly entries = new Map<string, string>();

  protected async readEntry(team: string, ns: string, key: string) {
    return this.entries.get(JSON.stringify([team, ns, key]));
  }

  protected async writeEntry(team: string, ns: string, key: string, value: string) {
    this.entries.set(JSON.stringify([team, ns, key]), value);
  }

  protected async deleteEntry(team: string, ns: string, key: string) {
    this.entries.delete(JSON.stringify([team, ns, key]));
  }

  protected async hasEntry(team: string, ns: string, key: string) {
    return this.entries.has(JSON.stringify([team, ns, key]));
  }

  protected async listEntries(team: string, ns: string): Promise<NKVStoredEntry[]> {
    const out: NKVStoredEntry[] = [];
    for (const [id, value] of this.entries) {
      const [t, n, key] = JSON.parse(id) as string[];
      if (t === team && n === ns) out.push({ key, value });
    }
    return out;
  }

  protected async deleteNamespace(team: string, ns: string) {
    for (const { key } of await this.listEntries(team, ns)) this.entries.delete(JSON.stringify([team, ns, key]));
  }
}

const TEAMS: Record<string, string> = { alice: 'team-a', bob: 'team-b', anna: 'team-a' };

describe('NKVModule', () => {
  const { useConnector } = describeSubsystemModule(NKV_DEFINITION, NKVModule, InjectNKV, {
    connector: MemoryNKV,
    planned: ['LocalStorage', 'Redis', 'RAM'],
    unknownName: 'Nope',
  });

  describe('requester (team-scoped)', () => {
    const nkv = useConnector(fakeAccountModule(TEAMS));

    it('round-trips every value type through the one encoding', async () => {
      const alice = nkv().user('alice');
      const values = ['text', '', 0, 42.5, false, true, null, { a: [1, 'b'] }, [1, 2], Buffer.from([0, 255, 7])];
      for (const [i, value] of values.entries()) await alice.set('types', `k${i}`, value);
      for (const [i, value] of values.entries()) expect(await alice.get('types', `k${i}`)).toEqual(value);
      expect(Buffer.isBuffer(await alice.get('types', 'k9'))).toBe(true);
      await alice.set('types', 'u8', new Uint8Array([1, 2]));
      expect(await alice.get('types', 'u8')).toEqual(Buffer.from([1, 2]));
      expect(await alice.get('types', 'missing')).toBeUndefined();
    });

    it('rejects values JSON cannot carry and empty names, on every operation', async () => {
      const alice = nkv().user('alice');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const bad of [undefined, () => 1, NaN, Infinity, 10n, cyclic]) {
        await expect(alice.set('ns', 'k', bad as never)).rejects.toBeInstanceOf(SreInvalidInputError);
      }
      await expect(alice.get('', 'k')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(alice.set('ns', '', 1)).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(alice.list('')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(alice.deleteAll('')).rejects.toBeInstanceOf(SreInvalidInputError);
      await expect(alice.exists('ns', 'a\u0000b')).rejects.toBeInstanceOf(SreInvalidInputError);
    });

    it('shares a namespace inside a team and isolates it from another team', async () => {
      await nkv().user('alice').set('shared', 'k:1/.x', 'from alice');
      expect(await nkv().user('anna').get('shared', 'k:1/.x')).toBe('from alice');
      expect(await nkv().team('team-a').list('shared')).toEqual([{ key: 'k:1/.x', data: 'from alice' }]);
      expect(await nkv().user('bob').get('shared', 'k:1/.x')).toBeUndefined();
      expect(await nkv().user('bob').list('shared')).toEqual([]);
      await nkv().user('bob').deleteAll('shared');
      expect(await nkv().user('alice').exists('shared', 'k:1/.x')).toBe(true);
    });

    it('denies a candidate without a team, and another team on the namespace resource', async () => {
      await expect(nkv().user('carol').get('shared', 'k')).rejects.toBeInstanceOf(SreAccessDeniedError);
      await expect(nkv().agent('carol').set('shared', 'k', 1)).rejects.toBeInstanceOf(SreAccessDeniedError);
      expect(await nkv().hasAccess(AccessCandidate.team('team-b'), 'read', 'teams/team-a/nkv/shared')).toBe(false);
      expect(await nkv().hasAccess(AccessCandidate.user('bob'), 'read', 'teams/team-a/nkv/shared')).toBe(false);
      expect(await nkv().hasAccess(AccessCandidate.user('anna'), 'write', 'teams/team-a/nkv/shared')).toBe(true);
    });

    it('deletes one key and then the whole namespace', async () => {
      const alice = nkv().user('alice');
      await alice.set('gone', 'a', 1);
      await alice.set('gone', 'b', 2);
      await alice.set('gone2', 'a', 3);
      await alice.delete('gone', 'a');
      await alice.delete('gone', 'never-set');
      expect(await alice.list('gone')).toEqual([{ key: 'b', data: 2 }]);
      await alice.deleteAll('gone');
      expect(await alice.list('gone')).toEqual([]);
      expect(await alice.get('gone2', 'a')).toBe(3);
    });
  });
});
