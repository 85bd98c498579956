import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import type { ManagedVaultBackend } from '../managed-vault/managed-vault.backend';
import { ManagedVaultService } from '../managed-vault/managed-vault.service';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import { largeValue, teamResolver, timedTest } from './contract-harness';

export interface ManagedVaultBackendSuiteOptions {
  /**
   * The backend keeps nothing (NullManagedVault): the suite checks that writes and deletes are
   * accepted and dropped, that every read is missing, and runs the policy tests that need no data.
   */
  holdsNothing?: boolean;
  /** Bytes of the large value (default 60 KiB: AWS Secrets Manager holds at most 64 KiB). */
  largeValueBytes?: number;
  /** Per-test timeout in milliseconds, for slow backends. */
  timeoutMs?: number;
}

const SECRET_WORD = 'sk-CONTRACT-never-in-a-message-5d1c';
const TOKEN = '{"access_token":"ya29.t1","expires_in":3599}';
const UNICODE_VALUE = 'pässwörd — 密码 — 🔐 — \u00a0tab\tand\nnewline';
// keys the service accepts that a backend might mangle: separators, spaces, non-ASCII, Object members
const ODD_KEYS = ['oauth:google', 'a/b/c', 'a.b', 'with space', 'ключ-🔑', 'constructor', '__proto__', 'k'.repeat(256)];

/** Users and agents and the team the stand-in Account resolves them to. */
const MEMBERS: Record<string, string> = { a1: 'team-a', 'a-user': 'team-a', b1: 'team-b', crook: '../team-a' };

const resolver = teamResolver(MEMBERS);

const team = AccessCandidate.team;
const agent = AccessCandidate.agent;

/**
 * The contract every ManagedVault backend passes, plus the service's policy over it, written once.
 * Each test builds a fresh, empty backend with `makeBackend()` and disconnects it after.
 *
 * `describeManagedVaultBackend('MyManagedVault', () => new MyManagedVault(settings, ctx))`
 */
export function describeManagedVaultBackend(
  label: string,
  makeBackend: () => ManagedVaultBackend | Promise<ManagedVaultBackend>,
  options: ManagedVaultBackendSuiteOptions = {},
): void {
  const holdsNothing = options.holdsNothing === true;
  const large = largeValue(options.largeValueBytes ?? 60 * 1024);
  const test = timedTest(options.timeoutMs);

  describe(`${label} (ManagedVault backend contract)`, () => {
    const backends: ManagedVaultBackend[] = [];
    const services: ManagedVaultService[] = [];

    /** A connected backend, disconnected after the test. */
    const open = async (): Promise<ManagedVaultBackend> => {
      const backend = await makeBackend();
      backends.push(backend);
      await backend.connect?.();
      return backend;
    };

    /** The real service over a fresh backend, and that backend (the service connects it and closes it). */
    const serve = async (
      wrap: (backend: ManagedVaultBackend) => ManagedVaultBackend = (backend) => backend,
      account: TeamResolver = resolver,
    ): Promise<{ vault: ManagedVaultService; backend: ManagedVaultBackend }> => {
      const backend = await makeBackend();
      const context = createConnectorContext({ subsystem: 'ManagedVault', connector: label, secrets: [SECRET_WORD] });
      const vault = new ManagedVaultService(wrap(backend), context, { account });
      services.push(vault);
      await vault.connect();
      return { vault, backend };
    };

    afterEach(async () => {
      await Promise.all(services.splice(0).map((service) => service.disconnect()));
      for (const backend of backends.splice(0)) await backend.disconnect?.();
    });

    describe('backend', () => {
      if (holdsNothing) {
        test('accepts every write and delete, and answers every read as missing', async () => {
          const backend = await open();
          for (const key of [...ODD_KEYS, 'oauth:google', 'hasOwnProperty', 'toString']) {
            await expect(backend.writeSecret('team-a', key, TOKEN)).resolves.toBeUndefined();
            await expect(backend.readSecret('team-a', key)).resolves.toBeUndefined();
            await expect(backend.secretExists('team-a', key)).resolves.toBe(false);
            await expect(backend.deleteSecret('team-a', key)).resolves.toBeUndefined();
          }
          await backend.writeSecret('team-a', 'large', large);
          await backend.writeSecret('team-a', 'unicode', UNICODE_VALUE);
          await expect(backend.readSecret('team-a', 'large')).resolves.toBeUndefined();
          await expect(backend.readSecret('team-a', 'unicode')).resolves.toBeUndefined();
          await expect(backend.deleteSecret('nobody-team', 'never')).resolves.toBeUndefined();
          await Promise.all(Array.from({ length: 20 }, (_, i) => backend.writeSecret('team-a', 'hot', `v-${i}`)));
          await expect(backend.readSecret('team-a', 'hot')).resolves.toBeUndefined();
        });
        return;
      }

      test('reads back what was written, exactly', async () => {
        const backend = await open();
        await backend.writeSecret('team-a', 'oauth:google', TOKEN);
        await expect(backend.readSecret('team-a', 'oauth:google')).resolves.toBe(TOKEN);
        await expect(backend.secretExists('team-a', 'oauth:google')).resolves.toBe(true);
      });

      test('answers undefined and false for a missing key or team, never an error', async () => {
        const backend = await open();
        await backend.writeSecret('team-a', 'k', 'value-a');
        await expect(backend.readSecret('team-a', 'missing')).resolves.toBeUndefined();
        await expect(backend.secretExists('team-a', 'missing')).resolves.toBe(false);
        await expect(backend.readSecret('nobody-team', 'k')).resolves.toBeUndefined();
        // names an object lookup would answer from its prototype
        for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
          await expect(backend.readSecret('team-a', name)).resolves.toBeUndefined();
          await expect(backend.secretExists('team-a', name)).resolves.toBe(false);
          await expect(backend.readSecret(name, 'k')).resolves.toBeUndefined();
        }
      });

      test('stores one encoding on every path: create, update, re-create after delete (W17)', async () => {
        const backend = await open();
        await backend.writeSecret('team-a', 'k', TOKEN);
        await expect(backend.readSecret('team-a', 'k')).resolves.toBe(TOKEN);
        await backend.writeSecret('team-a', 'k', 'plain text');
        await expect(backend.readSecret('team-a', 'k')).resolves.toBe('plain text');
        await backend.writeSecret('team-a', 'k', '"quoted"');
        await expect(backend.readSecret('team-a', 'k')).resolves.toBe('"quoted"');
        await backend.deleteSecret('team-a', 'k');
        await backend.writeSecret('team-a', 'k', TOKEN);
        await expect(backend.readSecret('team-a', 'k')).resolves.toBe(TOKEN);
      });

      test('deletes, and deleting a missing secret is a no-op', async () => {
        const backend = await open();
        await backend.writeSecret('team-a', 'k', 'v1');
        await backend.writeSecret('team-a', 'other', 'v2');
        await backend.deleteSecret('team-a', 'k');
        await expect(backend.readSecret('team-a', 'k')).resolves.toBeUndefined();
        await expect(backend.secretExists('team-a', 'k')).resolves.toBe(false);
        await expect(backend.deleteSecret('team-a', 'k')).resolves.toBeUndefined();
        await expect(backend.deleteSecret('nobody-team', 'never')).resolves.toBeUndefined();
        await expect(backend.readSecret('team-a', 'other')).resolves.toBe('v2');
      });

      test('keeps teams apart: the same key in two teams is two secrets', async () => {
        const backend = await open();
        await backend.writeSecret('team-a', 'k', 'for-a');
        await backend.writeSecret('team-b', 'k', 'for-b');
        await expect(backend.readSecret('team-a', 'k')).resolves.toBe('for-a');
        await backend.deleteSecret('team-b', 'k');
        await expect(backend.readSecret('team-a', 'k')).resolves.toBe('for-a');
        await expect(backend.secretExists('team-b', 'k')).resolves.toBe(false);
      });

      test('keeps keys with odd characters apart', async () => {
        const backend = await open();
        for (const [i, key] of ODD_KEYS.entries()) await backend.writeSecret('team-a', key, `odd-${i}`);
        for (const [i, key] of ODD_KEYS.entries())
          await expect(backend.readSecret('team-a', key)).resolves.toBe(`odd-${i}`);
        await expect(backend.readSecret('team-a', 'a')).resolves.toBeUndefined();
        await expect(backend.readSecret('team-a', 'a/b')).resolves.toBeUndefined();
      });

      test('returns unicode and large values exactly', async () => {
        const backend = await open();
        await backend.writeSecret('team-a', 'unicode', UNICODE_VALUE);
        await backend.writeSecret('team-a', 'large', large);
        await expect(backend.readSecret('team-a', 'unicode')).resolves.toBe(UNICODE_VALUE);
        const read = await backend.readSecret('team-a', 'large');
        expect(read?.length).toBe(large.length);
        expect(read === large).toBe(true);
      });

      test('loses no write among concurrent writers, and settles a contended key on one written value', async () => {
        const backend = await open();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => backend.writeSecret('team-a', `key-${i}`, `value-${i}`)),
        );
        for (let i = 0; i < 20; i++) await expect(backend.readSecret('team-a', `key-${i}`)).resolves.toBe(`value-${i}`);
        const written = Array.from({ length: 10 }, (_, i) => `contended-${i}`);
        await Promise.all(written.map((value) => backend.writeSecret('team-a', 'hot', value)));
        expect(written).toContain(await backend.readSecret('team-a', 'hot'));
      });
    });

    describe('service policy', () => {
      if (holdsNothing) {
        test("accepts set and delete from the candidate's team and keeps nothing: undefined, false", async () => {
          const { vault, backend } = await serve();
          for (const requester of [vault.agent('a1'), vault.user('a-user'), vault.team('team-a')]) {
            await expect(requester.set('oauth:google', TOKEN)).resolves.toBeUndefined();
            await expect(requester.get('oauth:google')).resolves.toBeUndefined();
            await expect(requester.exists('oauth:google')).resolves.toBe(false);
            await expect(requester.delete('oauth:google')).resolves.toBeUndefined();
          }
          await expect(backend.readSecret('team-a', 'oauth:google')).resolves.toBeUndefined();
        });
      } else {
        test("sets, reads, deletes and re-creates a secret in the candidate's team namespace", async () => {
          const { vault, backend } = await serve();
          const a1 = vault.agent('a1');
          await a1.set('oauth:google', TOKEN);
          await expect(a1.get('oauth:google')).resolves.toBe(TOKEN);
          await expect(backend.readSecret('team-a', 'oauth:google')).resolves.toBe(TOKEN);
          await expect(vault.team('team-a').exists('oauth:google')).resolves.toBe(true);
          await expect(vault.user('a-user').get('oauth:google')).resolves.toBe(TOKEN);
          await a1.delete('oauth:google');
          await a1.delete('oauth:google');
          await expect(a1.exists('oauth:google')).resolves.toBe(false);
          await a1.set('oauth:google', 'again');
          await expect(a1.get('oauth:google')).resolves.toBe('again');
          await expect(backend.readSecret('a1', 'oauth:google')).resolves.toBeUndefined();
        });

        test("never reaches another team's secrets", async () => {
          const { vault, backend } = await serve();
          await vault.agent('a1').set('k', 'for-a');
          await expect(vault.agent('b1').get('k')).resolves.toBeUndefined();
          await expect(vault.agent('b1').exists('k')).resolves.toBe(false);
          await vault.agent('b1').delete('k');
          await vault.team('team-b').set('k', 'for-b');
          await expect(vault.agent('a1').get('k')).resolves.toBe('for-a');
          await expect(backend.readSecret('team-b', 'k')).resolves.toBe('for-b');
        });
      }

      test('denies a candidate that has no team, or an answer that is no team id, and writes nothing', async () => {
        const { vault, backend } = await serve();
        // a team for the anonymous principal is ignored, whatever the resolver says
        const generous = await serve(undefined, { getCandidateTeam: async () => 'team-a' });
        const failing = await serve(undefined, { getCandidateTeam: () => Promise.reject(new Error('account down')) });
        const requesters = [
          vault.agent('nobody'),
          vault.user('nobody'),
          vault.agent('crook'),
          vault.requester(AccessCandidate.public()),
          generous.vault.requester(AccessCandidate.public()),
          failing.vault.agent('a1'),
        ];
        for (const requester of requesters) {
          await expect(requester.get('k')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(requester.set('k', 'x')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(requester.delete('k')).rejects.toBeInstanceOf(SreAccessDeniedError);
          await expect(requester.exists('k')).rejects.toBeInstanceOf(SreAccessDeniedError);
        }
        for (const written of [backend, generous.backend, failing.backend])
          for (const teamId of ['team-a', 'nobody', 'public', '../team-a'])
            await expect(written.secretExists(teamId, 'k')).resolves.toBe(false);
      });

      test('answers hasAccess for the managed secrets of a team only', async () => {
        const { vault } = await serve();
        const id = 'teams/team-a/managed-vault/k';
        await expect(vault.hasAccess(agent('a1'), ['read', 'write'], id)).resolves.toBe(true);
        await expect(vault.hasAccess(team('team-a'), 'owner', id)).resolves.toBe(true);
        await expect(vault.hasAccess(agent('b1'), 'read', id)).resolves.toBe(false);
        await expect(vault.hasAccess(team('team-b'), 'write', id)).resolves.toBe(false);
        await expect(vault.hasAccess(agent('nobody'), 'read', id)).resolves.toBe(false);
        await expect(vault.hasAccess(AccessCandidate.public(), 'read', id)).resolves.toBe(false);
        for (const other of [
          'teams/team-a/storage/k',
          'anything',
          'teams/team-a/managed-vault/',
          'teams/../managed-vault/k',
        ])
          await expect(vault.hasAccess(team('team-a'), 'read', other)).resolves.toBe(false);
      });

      test('rejects malformed keys and non-string values before writing anything', async () => {
        const { vault, backend } = await serve();
        for (const key of ['', 'a\u0000b', 'line\nbreak', 'k'.repeat(257), 42 as unknown as string]) {
          await expect(vault.agent('a1').get(key)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(vault.agent('a1').set(key, 'v')).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(vault.agent('a1').delete(key)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(vault.agent('a1').exists(key)).rejects.toBeInstanceOf(SreInvalidInputError);
        }
        for (const value of [42, null, undefined, { token: 't' }, Buffer.from('v')])
          await expect(vault.agent('a1').set('k', value as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        await expect(backend.secretExists('team-a', 'k')).resolves.toBe(false);
      });

      test('wraps backend failures in SreBackendError naming the connector, secrets and the value scrubbed', async () => {
        const value = 'sk-VALUE-being-written-9e2b';
        const failing = (backend: ManagedVaultBackend): ManagedVaultBackend =>
          Object.assign(Object.create(backend) as ManagedVaultBackend, {
            readSecret: () => Promise.reject(new Error(`socket reset (token ${SECRET_WORD})`)),
            writeSecret: (_t: string, _k: string, v: string) => Promise.reject(new Error(`rejected payload ${v}`)),
            deleteSecret: () => Promise.reject(new Error(`socket reset (token ${SECRET_WORD})`)),
            secretExists: () => Promise.reject(new Error(`socket reset (token ${SECRET_WORD})`)),
          });
        const { vault } = await serve(failing);
        const a1 = vault.agent('a1');
        for (const attempt of [
          () => a1.get('k'),
          () => a1.set('k', value),
          () => a1.delete('k'),
          () => a1.exists('k'),
        ]) {
          const error = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error).toMatchObject({ subsystem: 'ManagedVault', connector: label });
          expect((error as Error).message).not.toContain(SECRET_WORD);
          expect((error as Error).message).not.toContain(value);
          expect(String(((error as Error).cause as Error | undefined)?.message)).not.toContain(value);
        }
      });

      test('refuses work once closed', async () => {
        const { vault } = await serve();
        await vault.disconnect();
        await expect(vault.agent('a1').get('k')).rejects.toBeInstanceOf(SreUnavailableError);
        await expect(vault.agent('a1').set('k', 'v')).rejects.toThrow(/shut/);
      });
    });
  });
}
