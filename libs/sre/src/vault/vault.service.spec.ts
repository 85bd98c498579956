import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { OWN_TEAM_ONLY, type TeamResolver } from '../security/team-resolver';
import { MemoryVaultBackend } from '../testing/backends/memory-vault.backend';
import { VaultService } from './vault.service';

const TEAMS = { acme: { openai: 'sk-acme' }, globex: { openai: 'sk-globex' }, platform: { tavily: 'tv' } };

function build(account: TeamResolver, backend = new MemoryVaultBackend({ teams: TEAMS })) {
  const vault = new VaultService(backend, createConnectorContext({ subsystem: 'Vault', connector: 'MemoryVault' }), {
    account,
  });
  return { vault, backend };
}

describe('VaultService', () => {
  const opened: VaultService[] = [];
  const open = (account: TeamResolver, backend?: MemoryVaultBackend) => {
    const built = build(account, backend);
    opened.push(built.vault);
    return built;
  };
  afterEach(() => Promise.all(opened.splice(0).map((vault) => vault.disconnect())));

  it("offers no method that names a team's namespace: only requesters scoped by the candidate", () => {
    const { vault } = open(OWN_TEAM_ONLY);
    // @ts-expect-error the backend's lookup is not part of the service (any holder read any team's secret)
    expect(vault.getSecret).toBeUndefined();
    // @ts-expect-error idem for listings
    expect(vault.listSecretKeys).toBeUndefined();
    expect(Object.keys(vault.team('acme')).sort()).toEqual([
      'candidate',
      'exists',
      'get',
      'listKeys',
      'resolveTemplate',
    ]);
  });

  it('gives only team candidates a team with the own-team-only resolver', async () => {
    const { vault } = open(OWN_TEAM_ONLY);
    await expect(vault.team('acme').get('openai')).resolves.toBe('sk-acme');
    await expect(vault.agent('acme').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(vault.user('acme').listKeys()).rejects.toBeInstanceOf(SreAccessDeniedError);
  });

  it('asks the resolver about the candidate itself, and treats an answer that is not a team id as no team', async () => {
    const getCandidateTeam = jest.fn(async (candidate: AccessCandidate) =>
      candidate.id === 'odd' ? (42 as unknown as string) : 'globex',
    );
    const { vault } = open({ getCandidateTeam });
    await expect(vault.user('bob').get('openai')).resolves.toBe('sk-globex');
    expect(getCandidateTeam).toHaveBeenCalledWith(AccessCandidate.user('bob'));
    await expect(vault.agent('odd').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
  });

  it('reads nothing from the backend for a denied candidate or a malformed key', async () => {
    const { vault, backend } = open(OWN_TEAM_ONLY);
    const reads = jest.spyOn(backend, 'getSecret');
    const lists = jest.spyOn(backend, 'listSecretKeys');
    await expect(vault.user('u').get('openai')).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(vault.user('u').listKeys()).rejects.toBeInstanceOf(SreAccessDeniedError);
    await expect(vault.team('acme').get('')).rejects.toBeInstanceOf(SreInvalidInputError);
    await expect(vault.team('acme').resolveTemplate('{{KEY(ok)}} {{KEY(bad\u0007)}}')).rejects.toBeInstanceOf(
      SreInvalidInputError,
    );
    expect([reads.mock.calls.length, lists.mock.calls.length]).toEqual([0, 0]);
  });

  it('reads the shared team once per key only when the own team misses it', async () => {
    const { vault, backend } = open(OWN_TEAM_ONLY, new MemoryVaultBackend({ teams: TEAMS, shared: 'platform' }));
    const reads = jest.spyOn(backend, 'getSecret');
    await expect(vault.team('acme').get('openai')).resolves.toBe('sk-acme');
    expect(reads.mock.calls).toEqual([['acme', 'openai']]);
    reads.mockClear();
    await expect(vault.team('acme').get('tavily')).resolves.toBe('tv');
    expect(reads.mock.calls).toEqual([
      ['acme', 'tavily'],
      ['platform', 'tavily'],
    ]);
  });

  it('ignores a shared team that is not a team id', async () => {
    const { vault, backend } = open(OWN_TEAM_ONLY, new MemoryVaultBackend({ teams: TEAMS, shared: '../platform' }));
    backend.set('../platform', 'tavily', 'leaked');
    await expect(vault.team('acme').get('tavily')).resolves.toBeUndefined();
    await expect(vault.team('acme').listKeys()).resolves.toEqual(['openai']);
  });

  it('answers hasAccess false for an unknown level instead of throwing', async () => {
    const { vault } = open(OWN_TEAM_ONLY);
    await expect(vault.hasAccess(AccessCandidate.team('acme'), 'read', 'openai')).resolves.toBe(true);
    await expect(vault.hasAccess(AccessCandidate.team('acme'), 'admin' as never, 'openai')).resolves.toBe(false);
  });
});
