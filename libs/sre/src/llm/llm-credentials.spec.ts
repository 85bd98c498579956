import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import {
  ClientsByCredential,
  INTERNAL_KEY_VARIABLES,
  resolveLLMCredentials,
  type SecretReader,
} from './llm-credentials';

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b', d1: 'team-denied', x1: 'team-broken' };
const VAULT: Record<string, Record<string, string>> = {
  'team-a': {
    openai: 'sk-team-a',
    'aws-id': 'AKIA',
    'aws-secret': 'shh',
    'aws-session': 'tok',
    vertex: '{"project_id":"p"}',
    'bad-vertex': 'not json',
    'list-vertex': '[1]',
    api: 'k-a',
  },
  'team-b': { openai: 'sk-team-b' },
};
const asked: string[] = [];
const vault: SecretReader = {
  requester: (candidate: AccessCandidate) => ({
    get: async (key: string) => {
      asked.push(`${candidate.id}:${key}`);
      const team = candidate.role === 'team' ? candidate.id : TEAMS[candidate.id];
      if (team === 'team-denied') throw new SreAccessDeniedError();
      if (team === 'team-broken') throw new Error('vault backend down');
      return VAULT[team]?.[key];
    },
  }),
};

const agent = AccessCandidate.agent('a1');
const env = { OPENAI_API_KEY: 'sk-platform' };

describe('resolveLLMCredentials', () => {
  beforeEach(() => (asked.length = 0));

  it('follows the modes of the original', async () => {
    expect(await resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'none' }, vault, env)).toEqual({
      apiKey: '',
    });
    expect(await resolveLLMCredentials(agent, { provider: 'OpenAI' }, vault, env)).toEqual({ apiKey: 'sk-platform' });
    expect(await resolveLLMCredentials(agent, { llm: 'OpenAI' }, vault, env)).toEqual({ apiKey: 'sk-platform' });
    expect(await resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'vault' }, vault, env)).toEqual({
      apiKey: 'sk-team-a',
      isUserKey: true,
    });
    expect(
      await resolveLLMCredentials(agent, { provider: 'Groq', credentials: ['vault', 'internal'] }, vault, env),
    ).toEqual({});
    expect(
      await resolveLLMCredentials(
        agent,
        { provider: 'OpenAI', credentials: { apiKey: '{{KEY(api)}}', nested: ['x-{{KEY(missing)}}', 3] } },
        vault,
        env,
      ),
    ).toEqual({ apiKey: 'k-a', nested: ['x-', 3] });
    expect(
      await resolveLLMCredentials(
        agent,
        {
          provider: 'Bedrock',
          credentials: 'bedrock_vault',
          settings: { keyIDName: 'aws-id', secretKeyName: 'aws-secret', sessionKeyName: 'none' },
        },
        vault,
        env,
      ),
    ).toEqual({ accessKeyId: 'AKIA', secretAccessKey: 'shh', isUserKey: true });
    expect(
      await resolveLLMCredentials(
        agent,
        {
          provider: 'Bedrock',
          credentials: 'bedrock_vault',
          settings: { keyIDName: 'aws-id', secretKeyName: 'aws-secret', sessionKeyName: 'aws-session' },
        },
        vault,
        env,
      ),
    ).toEqual({ accessKeyId: 'AKIA', secretAccessKey: 'shh', sessionToken: 'tok', isUserKey: true });
    expect(
      await resolveLLMCredentials(
        agent,
        { provider: 'VertexAI', credentials: 'vertexai_vault', settings: { jsonCredentialsName: 'vertex' } },
        vault,
        env,
      ),
    ).toEqual({ project_id: 'p', isUserKey: true });
    expect(
      await resolveLLMCredentials(
        agent,
        { provider: 'VertexAI', credentials: ['vertexai_vault', 'none'], settings: {} },
        vault,
        env,
      ),
    ).toEqual({ apiKey: '' });
  });

  it('reads the platform key of each provider from its own variable, at call time', async () => {
    for (const [provider, variable] of Object.entries(INTERNAL_KEY_VARIABLES))
      expect(await resolveLLMCredentials(agent, { provider }, vault, { [variable]: `key-of-${provider}` })).toEqual({
        apiKey: `key-of-${provider}`,
      });
    expect(await resolveLLMCredentials(agent, { provider: 'Bedrock' }, vault, env)).toEqual({});
    expect(await resolveLLMCredentials(agent, { provider: 'constructor' }, vault, env)).toEqual({});
  });

  it('reads as the caller only, and without a vault finds no key', async () => {
    await resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'vault' }, vault, {});
    await resolveLLMCredentials(AccessCandidate.agent('b1'), { provider: 'OpenAI', credentials: 'vault' }, vault, {});
    expect(asked).toEqual(['a1:openai', 'b1:openai']);
    expect(await resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: ['vault'] }, undefined, {})).toEqual(
      {},
    );
  });

  it('treats a denial as no key and reports failures', async () => {
    expect(
      await resolveLLMCredentials(AccessCandidate.agent('b1'), { provider: 'OpenAI', credentials: 'vault' }, vault, {}),
    ).toEqual({ apiKey: 'sk-team-b', isUserKey: true });
    expect(
      await resolveLLMCredentials(
        AccessCandidate.agent('d1'),
        { provider: 'OpenAI', credentials: ['vault', 'internal'] },
        vault,
        { OPENAI_API_KEY: 'p' },
      ),
    ).toEqual({ apiKey: 'p' });
    await expect(
      resolveLLMCredentials(
        AccessCandidate.agent('x1'),
        { provider: 'OpenAI', credentials: ['vault', 'internal'] },
        vault,
        { OPENAI_API_KEY: 'p' },
      ),
    ).rejects.toThrow('vault backend down');
    const source = { subsystem: 'LLM', connector: 'X' };
    const malformed = await resolveLLMCredentials(
      agent,
      { provider: 'VertexAI', credentials: 'vertexai_vault', settings: { jsonCredentialsName: 'bad-vertex' } },
      vault,
      {},
      source,
    ).catch((error: unknown) => error);
    expect(malformed).toBeInstanceOf(SreInvalidInputError);
    expect(malformed).toMatchObject({
      ...source,
      message: "the VertexAI credentials in vault key 'bad-vertex' are not a JSON object",
    });
    await expect(
      resolveLLMCredentials(
        agent,
        { provider: 'VertexAI', credentials: 'vertexai_vault', settings: { jsonCredentialsName: 'list-vertex' } },
        vault,
        {},
      ),
    ).rejects.toThrow('are not a JSON object');
    await expect(
      resolveLLMCredentials(agent, { provider: 'OpenAI', credentials: 'keychain' as never }, vault, {}),
    ).rejects.toThrow("unknown credentials mode 'keychain'");
  });
});

describe('ClientsByCredential', () => {
  it('keeps one SDK client per credential set, whatever the key order', () => {
    const clients = new ClientsByCredential<{ key: string }>({ max: 2 });
    const a = clients.get({ apiKey: 'a', region: 'x' }, () => ({ key: 'a' }));
    expect(clients.get({ region: 'x', apiKey: 'a' }, () => ({ key: 'other' }))).toBe(a);
    expect(clients.get({ apiKey: 'b', region: 'x' }, () => ({ key: 'b' }))).not.toBe(a);
    expect(clients.get({ apiKey: 'a', region: 'x', nested: { z: 1, y: [2] } }, () => ({ key: 'n' }))).not.toBe(a);
    expect(clients.size).toBe(2);
  });

  it('drops the least recently used clients beyond max, disposing of them', () => {
    const disposed: string[] = [];
    const clients = new ClientsByCredential<{ key: string }>({
      max: 2,
      dispose: (client) => disposed.push(client.key),
    });
    clients.get({ apiKey: 'a' }, () => ({ key: 'a' }));
    clients.get({ apiKey: 'b' }, () => ({ key: 'b' }));
    clients.get({ apiKey: 'a' }, () => ({ key: 'never' }));
    clients.get({ apiKey: 'c' }, () => ({ key: 'c' }));
    expect(disposed).toEqual(['b']);
    clients.clear();
    expect(clients.size).toBe(0);
    expect(disposed.sort()).toEqual(['a', 'b', 'c']);
  });
});
