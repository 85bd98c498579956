import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import type { VaultBackend } from '../vault/vault.backend';
import { VaultService } from '../vault/vault.service';
import type { VaultSecrets, VaultSeed } from './backends/memory-vault.backend';
import { largeValue, teamResolver, timedTest } from './contract-harness';

export type { VaultSecrets, VaultSeed } from './backends/memory-vault.backend';

export interface VaultBackendSuiteOptions {
  /**
   * The backend holds nothing whatever its seed (NullVault): the suite checks that every read is
   * missing and runs the policy tests that need no data.
   */
  holdsNothing?: boolean;
  /** Bytes of the large value in the seed (default 256 KiB). */
  largeValueBytes?: number;
  /** Per-test timeout in milliseconds, for slow backends. */
  timeoutMs?: number;
}

const SECRET_WORD = 'sk-CONTRACT-never-in-a-message-7f3a';
const UNICODE_VALUE = 'pässwörd — 密码 — 🔐 — \u00a0tab\tand\nnewline';
// keys the service accepts that a backend might mangle: separators, spaces, non-ASCII, Object members
const ODD_KEYS = ['a.b', 'a/b/c', 'with space', 'x:y=z', 'ключ-🔑', '{curly}', 'constructor', 'toString', '__proto__'];

const TEAMS: VaultSecrets = {
  acme: { openai: 'sk-acme', only_acme: 'acme-secret' },
  globex: { openai: 'sk-globex' },
  platform: { openai: 'sk-platform', tavily: 'tv-platform' },
};

/** Users and agents and the team the stand-in Account resolves them to. */
const MEMBERS: Record<string, string> = { alice: 'acme', 'acme-bot': 'acme', bob: 'globex', crook: '../acme' };

const resolver = teamResolver(MEMBERS);

const team = AccessCandidate.team;
const user = AccessCandidate.user;
const agent = AccessCandidate.agent;

/**
 * The contract every Vault backend passes, plus the service's policy over it, written once. Vaults
 * are read-only, so `makeBackend(seed)` builds a backend already holding `seed.teams` (and
 * configured with `seed.shared` as its shared team): e.g. write them to a temp file and point the
 * connector at it. Each test builds a fresh backend and disconnects it after.
 *
 * `describeVaultBackend('MyVault', (seed) => new MyVault(writeFixture(seed), ctx))`
 */
export function describeVaultBackend(
  label: string,
  makeBackend: (seed: VaultSeed) => VaultBackend | Promise<VaultBackend>,
  options: VaultBackendSuiteOptions = {},
): void {
  const holdsNothing = options.holdsNothing === true;
  const large = largeValue(options.largeValueBytes ?? 256 * 1024);
  const odd = Object.fromEntries(ODD_KEYS.map((key, i) => [key, `odd-${i}`]));
  const seed = (shared?: string): VaultSeed => ({
    teams: { ...TEAMS, unicode: { text: UNICODE_VALUE, large }, odd },
    ...(shared === undefined ? {} : { shared }),
  });
  const test = timedTest(options.timeoutMs);

  describe(`${label} (Vault backend contract)`, () => {
    const backends: VaultBackend[] = [];
    const services: VaultService[] = [];

    /** A connected backend, disconnected after the test. */
    const open = async (data: VaultSeed = seed()): Promise<VaultBackend> => {
      const backend = await makeBackend(data);
      backends.push(backend);
      await backend.connect?.();
      return backend;
    };

    /** The real service over a fresh backend (it connects on first use and disconnects after the test). */
    const serve = async (
      data: VaultSeed = seed(),
      wrap: (backend: VaultBackend) => VaultBackend = (backend) => backend,
      account: TeamResolver = resolver,
    ): Promise<VaultService> => {
      const context = createConnectorContext({ subsystem: 'Vault', connector: label, secrets: [SECRET_WORD] });
      const service = new VaultService(wrap(await makeBackend(data)), context, { account });
      services.push(service);
      return service;
    };

    /** The backend with every read failing, its message quoting a secret setting value. */
    const failing = (backend: VaultBackend): VaultBackend =>
      Object.assign(Object.create(backend) as VaultBackend, {
        getSecret: () => Promise.reject(new Error(`socket reset (token ${SECRET_WORD})`)),
        listSecretKeys: () => Promise.reject(new Error(`socket reset (token ${SECRET_WORD})`)),
      });

    afterEach(async () => {
      await Promise.all(services.splice(0).map((service) => service.disconnect()));
      for (const backend of backends.splice(0)) await backend.disconnect?.();
    });

    describe('backend', () => {
      if (holdsNothing) {
        test('answers every key of every team as missing, whatever the seed (W16)', async () => {
          const backend = await open(seed('platform'));
          for (const [teamId, secrets] of Object.entries(TEAMS)) {
            for (const key of Object.keys(secrets))
              await expect(backend.getSecret(teamId, key)).resolves.toBeUndefined();
            await expect(backend.listSecretKeys(teamId)).resolves.toEqual([]);
          }
        });
        return;
      }

      test("reads each team's own secrets", async () => {
        const backend = await open();
        await expect(backend.getSecret('acme', 'openai')).resolves.toBe('sk-acme');
        await expect(backend.getSecret('acme', 'only_acme')).resolves.toBe('acme-secret');
        await expect(backend.getSecret('globex', 'openai')).resolves.toBe('sk-globex');
      });

      test('answers undefined for a missing key or team, never an error', async () => {
        const backend = await open();
        await expect(backend.getSecret('acme', 'missing')).resolves.toBeUndefined();
        await expect(backend.getSecret('globex', 'only_acme')).resolves.toBeUndefined();
        await expect(backend.getSecret('nobody-team', 'openai')).resolves.toBeUndefined();
        // names an object lookup would answer from its prototype
        for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
          await expect(backend.getSecret(name, 'openai')).resolves.toBeUndefined();
          await expect(backend.getSecret('acme', name)).resolves.toBeUndefined();
          await expect(backend.listSecretKeys(name)).resolves.toEqual([]);
        }
      });

      test("lists one team's keys only, and nothing for an unknown team", async () => {
        const backend = await open();
        expect((await backend.listSecretKeys('acme')).sort()).toEqual(['only_acme', 'openai']);
        expect((await backend.listSecretKeys('platform')).sort()).toEqual(['openai', 'tavily']);
        await expect(backend.listSecretKeys('nobody-team')).resolves.toEqual([]);
      });

      test('returns unicode and large values exactly', async () => {
        const backend = await open();
        await expect(backend.getSecret('unicode', 'text')).resolves.toBe(UNICODE_VALUE);
        const read = await backend.getSecret('unicode', 'large');
        expect(read?.length).toBe(large.length);
        expect(read === large).toBe(true);
      });

      test('keeps keys with odd characters apart and lists them as written', async () => {
        const backend = await open();
        for (const [i, key] of ODD_KEYS.entries())
          await expect(backend.getSecret('odd', key)).resolves.toBe(`odd-${i}`);
        expect((await backend.listSecretKeys('odd')).sort()).toEqual([...ODD_KEYS].sort());
        await expect(backend.getSecret('odd', 'a')).resolves.toBeUndefined();
        await expect(backend.getSecret('odd', 'a/b')).resolves.toBeUndefined();
      });

      test('names the shared team only when configured (W12)', async () => {
        expect((await open(seed('platform'))).sharedTeam).toBe('platform');
        expect((await open(seed())).sharedTeam).toBeUndefined();
      });

      test('answers concurrent reads consistently', async () => {
        const backend = await open();
        const reads = await Promise.all(
          Array.from({ length: 50 }, (_, i) => backend.getSecret(i % 2 ? 'acme' : 'globex', 'openai')),
        );
        expect(reads).toEqual(Array.from({ length: 50 }, (_, i) => (i % 2 ? 'sk-acme' : 'sk-globex')));
      });
    });

    describe('service policy', () => {
      if (holdsNothing) {
        test('gives every candidate with a team nothing: undefined, false, [], names left in templates', async () => {
          const vault = await serve(seed('platform'));
          for (const requester of [vault.team('acme'), vault.user('alice'), vault.agent('acme-bot')]) {
            await expect(requester.get('openai')).resolves.toBeUndefined();
            await expect(requester.exists('openai')).resolves.toBe(false);
            await expect(requester.listKeys()).resolves.toEqual([]);
            await expect(requester.resolveTemplate('Bearer {{KEY(openai)}}')).resolves.toBe('Bearer openai');
          }
          await expect(vault.hasAccess(team('acme'), 'read', 'openai')).resolves.toBe(false);
        });
      } else {
        test("reads the candidate's own team only, never another team's secrets", async () => {
          const vault = await serve();
          await expect(vault.team('acme').get('openai')).resolves.toBe('sk-acme');
          await expect(vault.team('globex').get('openai')).resolves.toBe('sk-globex');
          await expect(vault.team('globex').get('only_acme')).resolves.toBeUndefined();
          await expect(vault.team('globex').exists('only_acme')).resolves.toBe(false);
          await expect(vault.team('acme').exists('only_acme')).resolves.toBe(true);
          await expect(vault.team('acme').listKeys()).resolves.toEqual(['only_acme', 'openai']);
          await expect(vault.team('nobody-team').listKeys()).resolves.toEqual([]);
          await expect(vault.hasAccess(team('acme'), ['read', 'write', 'owner'], 'only_acme')).resolves.toBe(true);
          await expect(vault.hasAccess(team('globex'), 'read', 'only_acme')).resolves.toBe(false);
          await expect(vault.hasAccess(team('acme'), 'read', 'missing')).resolves.toBe(false);
        });

        test('resolves users and agents to their team through the Account resolver', async () => {
          const vault = await serve();
          await expect(vault.user('alice').get('only_acme')).resolves.toBe('acme-secret');
          await expect(vault.agent('acme-bot').get('openai')).resolves.toBe('sk-acme');
          await expect(vault.user('bob').get('openai')).resolves.toBe('sk-globex');
          await expect(vault.user('bob').get('only_acme')).resolves.toBeUndefined();
          await expect(vault.user('bob').listKeys()).resolves.toEqual(['openai']);
          await expect(vault.hasAccess(user('alice'), 'read', 'only_acme')).resolves.toBe(true);
          await expect(vault.hasAccess(user('bob'), 'read', 'only_acme')).resolves.toBe(false);
          await expect(vault.hasAccess(agent('acme-bot'), 'read', 'only_acme')).resolves.toBe(true);
        });

        test('back-fills from the shared team only when configured, the own value winning (W12)', async () => {
          const plain = await serve(seed());
          await expect(plain.team('acme').get('tavily')).resolves.toBeUndefined();
          await expect(plain.team('acme').listKeys()).resolves.toEqual(['only_acme', 'openai']);
          await expect(plain.team('platform').get('tavily')).resolves.toBe('tv-platform');
          await expect(plain.hasAccess(team('acme'), 'read', 'tavily')).resolves.toBe(false);

          const shared = await serve(seed('platform'));
          await expect(shared.team('acme').get('tavily')).resolves.toBe('tv-platform');
          await expect(shared.user('bob').get('tavily')).resolves.toBe('tv-platform');
          await expect(shared.team('acme').get('openai')).resolves.toBe('sk-acme');
          await expect(shared.team('nobody-team').get('openai')).resolves.toBe('sk-platform');
          await expect(shared.team('acme').exists('tavily')).resolves.toBe(true);
          await expect(shared.team('acme').listKeys()).resolves.toEqual(['only_acme', 'openai', 'tavily']);
          await expect(shared.team('platform').listKeys()).resolves.toEqual(['openai', 'tavily']);
          // a shared-only key may be read, not written nor owned (the original's ACL)
          await expect(shared.hasAccess(team('acme'), 'read', 'tavily')).resolves.toBe(true);
          await expect(shared.hasAccess(team('acme'), 'write', 'tavily')).resolves.toBe(false);
          await expect(shared.hasAccess(user('alice'), 'read', 'tavily')).resolves.toBe(true);
        });

        test('resolves {{KEY(name)}} templates, leaving the name of a missing key', async () => {
          const requester = (await serve(seed('platform'))).user('alice');
          await expect(
            requester.resolveTemplate('Bearer {{KEY(openai)}} / {{ KEY( tavily ) }} / {{KEY(missing)}} / {{MyVAR}}'),
          ).resolves.toBe('Bearer sk-acme / tv-platform / missing / {{MyVAR}}');
          await expect(requester.resolveTemplate('{{KEY(openai)}}{{KEY(openai)}}')).resolves.toBe('sk-acmesk-acme');
          await expect(requester.resolveTemplate('{{KEY(ключ-🔑)}}')).resolves.toBe('ключ-🔑');
          await expect(requester.resolveTemplate('no template')).resolves.toBe('no template');
        });

        test('hands values and odd keys through the service unchanged', async () => {
          const vault = await serve();
          await expect(vault.team('unicode').get('text')).resolves.toBe(UNICODE_VALUE);
          expect((await vault.team('unicode').get('large')) === large).toBe(true);
          await expect(vault.team('odd').listKeys()).resolves.toEqual([...ODD_KEYS].sort());
          for (const [i, key] of ODD_KEYS.entries()) await expect(vault.team('odd').get(key)).resolves.toBe(`odd-${i}`);
        });
      }

      test('denies a candidate that has no team, or an answer that is no team id', async () => {
        const vault = await serve(seed('platform'));
        // a team for the anonymous principal is ignored, whatever the resolver says
        const generous = await serve(seed('platform'), undefined, { getCandidateTeam: async () => 'acme' });
        const requesters = [
          vault.user('stranger'),
          vault.agent('stray-bot'),
          vault.user('crook'),
          vault.requester(AccessCandidate.public()),
          generous.requester(AccessCandidate.public()),
        ];
        for (const requester of requesters) {
          await expect(requester.get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(requester.exists('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(requester.listKeys()).rejects.toThrow('belongs to no team');
          await expect(requester.resolveTemplate('{{KEY(openai)}}')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(vault.hasAccess(requester.candidate, 'read', 'tavily')).resolves.toBe(false);
        }
      });

      test('reports a failing Account resolver as an error, not as "no team" nor "missing" (W56)', async () => {
        const broken = { getCandidateTeam: () => Promise.reject(new Error('account store down')) };
        const vault = await serve(seed(), undefined, broken);
        await expect(vault.user('alice').get('openai')).rejects.toBeInstanceOf(SreBackendError);
        await expect(vault.user('alice').listKeys()).rejects.toThrow('account store down');
        await expect(vault.team('acme').exists('zzz')).resolves.toBe(false);
        await expect(vault.hasAccess(user('alice'), 'read', 'openai')).resolves.toBe(false);
      });

      test('wraps backend failures in SreBackendError naming the connector, secrets redacted (W56)', async () => {
        const vault = await serve(seed('platform'), failing);
        const requester = vault.team('acme');
        for (const attempt of [
          () => requester.get('openai'),
          () => requester.exists('openai'),
          () => requester.listKeys(),
          () => requester.resolveTemplate('{{KEY(openai)}}'),
        ]) {
          const error = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error).toMatchObject({ subsystem: 'Vault', connector: label });
          expect((error as Error).message).toContain('socket reset');
          expect((error as Error).message).not.toContain(SECRET_WORD);
        }
        await expect(vault.hasAccess(team('acme'), 'read', 'openai')).resolves.toBe(false);
      });

      test('rejects malformed keys and templates before reading anything', async () => {
        const vault = await serve();
        for (const key of ['', 'a\u0000b', 'line\nbreak', 'x'.repeat(1025), 42 as unknown as string]) {
          await expect(vault.team('acme').get(key)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(vault.team('acme').exists(key)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(vault.hasAccess(team('acme'), 'read', key)).resolves.toBe(false);
        }
        await expect(vault.team('acme').resolveTemplate('{{KEY(a\u0001b)}}')).rejects.toBeInstanceOf(
          SreInvalidInputError,
        );
        await expect(vault.team('acme').resolveTemplate(7 as unknown as string)).rejects.toBeInstanceOf(
          SreInvalidInputError,
        );
      });

      test('refuses work once closed', async () => {
        const vault = await serve();
        await vault.connect();
        await vault.disconnect();
        await expect(vault.team('acme').get('openai')).rejects.toBeInstanceOf(SreUnavailableError);
        await expect(vault.team('acme').listKeys()).rejects.toThrow(/shut/);
      });
    });
  });
}
