import type { Logger } from '@nestjs/common';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError } from '../core/errors';
import { ENTERPRISE_MODELS_SETTING, USER_CUSTOM_MODELS_SETTING } from '../models-provider/models-loader';
import type { ModelMap, ModelsProviderBackend } from '../models-provider/models-provider.backend';
import { ModelsProviderService, type ModelsProviderAccount } from '../models-provider/models-provider.service';
import { AccessCandidate } from '../security/access-candidate';
import { MAX_WRITE_ATTEMPTS } from '../security/secure-service';
import { teamResolver, useFreshBackend } from './contract-harness';

export interface ModelsProviderContractOptions {
  /** Per-test timeout in milliseconds (default Jest's). */
  timeout?: number;
}

// every name carries a prefix no catalogue uses, so that the backend's own global list never collides
const MODELS: ModelMap = {
  'contract-base': {
    modelId: 'contract-base-1',
    provider: 'OpenAI',
    tokens: 128_000,
    completionTokens: 16_384,
    credentials: 'vault',
  },
  'contract-smyth': {
    modelId: 'x',
    alias: 'contract-base',
    tokens: 4000,
    completionTokens: 1000,
    keyOptions: { tokens: 100_000, completionTokens: 8000 },
  },
  'contract-legacy': { modelId: 'claude-2', llm: 'Anthropic', tokens: 1000, tags: ['sdk'] },
  'contract-no-limits': { modelId: 'nl', provider: 'Echo' },
};

const TEAMS: Record<string, string> = { a1: 'team-a', a2: 'team-a', b1: 'team-b', bad1: '../evil', c1: 'team-c' };

const SETTINGS: Record<string, Record<string, string>> = {
  'team-a': {
    [ENTERPRISE_MODELS_SETTING]: JSON.stringify({
      e1: {
        name: 'contract-bedrock',
        provider: 'Bedrock',
        features: ['text-completion', 'tool-use'],
        tags: ['x'],
        settings: { foundationModel: 'contract.foundation-1', customModel: '' },
      },
    }),
    [USER_CUSTOM_MODELS_SETTING]: JSON.stringify({
      u1: {
        name: 'contract-ollama',
        modelId: 'llama3',
        provider: 'Ollama',
        baseURL: 'http://localhost:11434',
        contextWindow: 4096,
      },
    }),
  },
  'team-b': { [ENTERPRISE_MODELS_SETTING]: 'not json {' },
};

const account: ModelsProviderAccount = {
  ...teamResolver(TEAMS),
  forTeam: (teamId) => ({
    getSetting: async (key) => {
      if (teamId === 'team-c') throw new Error('account store down');
      return SETTINGS[teamId]?.[key];
    },
  }),
};

const agent = AccessCandidate.agent;

/**
 * The backend without its lifecycle (the suite connects and closes it), with the global reads
 * counted: what the service is built over in the policy tests.
 */
function viewOf(backend: ModelsProviderBackend, overrides: Partial<ModelsProviderBackend> = {}) {
  const view = {
    reads: 0,
    readModels: () => {
      view.reads++;
      return backend.readModels();
    },
    readTeamModels: (teamId: string) => backend.readTeamModels(teamId),
    writeTeamModels: (teamId: string, models: ModelMap, ifVersion: unknown) =>
      backend.writeTeamModels(teamId, models, ifVersion),
    ...(backend.customModelDefaults
      ? { customModelDefaults: (foundation: string) => backend.customModelDefaults!(foundation) }
      : {}),
    ...overrides,
  };
  return view;
}

/**
 * The contract of a ModelsProvider backend, then the service's policy over it: run it from every
 * connector's spec, e.g. `describeModelsProviderBackend('JSONModelsProvider', () => new
 * JSONModelsProviderConnector({ models: {} }, ctx))`. Each test gets a fresh backend from
 * `makeBackend` (its team additions empty), connected, and disconnected after.
 */
export function describeModelsProviderBackend(
  label: string,
  makeBackend: () => ModelsProviderBackend | Promise<ModelsProviderBackend>,
  options: ModelsProviderContractOptions = {},
): void {
  describe(`${label} (ModelsProvider backend contract)`, () => {
    let warnings: string[] = [];
    beforeEach(() => {
      warnings = [];
    });
    const { backend } = useFreshBackend(makeBackend, { timeout: options.timeout });
    const logger = { warn: (message: string) => warnings.push(message), log: () => undefined, error: () => undefined };
    const context = createConnectorContext({
      subsystem: 'ModelsProvider',
      connector: label,
      logger: logger as unknown as Logger,
    });
    const serviceOver = (overrides?: Partial<ModelsProviderBackend>) => {
      const view = viewOf(backend(), overrides);
      return { view, service: new ModelsProviderService(view, context, { account }) };
    };

    describe('backend operations', () => {
      it(
        'reads the global list as an object of entries',
        async () => {
          const models = await backend().readModels();
          expect(typeof models).toBe('object');
          expect(Array.isArray(models)).toBe(false);
          for (const entry of Object.values(models)) expect(typeof entry).toBe('object');
        },
        options.timeout,
      );

      it(
        'has no additions for a team that added none',
        async () => {
          expect(await backend().readTeamModels('team-none')).toBeUndefined();
        },
        options.timeout,
      );

      it(
        'creates additions only where there are none, and reads them back with a version',
        async () => {
          expect(await backend().writeTeamModels('team-a', MODELS, undefined)).toBe(true);
          const read = await backend().readTeamModels('team-a');
          expect(read?.models).toEqual(MODELS);
          expect(read?.version).toBeDefined();
          // a creation where there already is something is a lost update: refused, nothing changes
          expect(await backend().writeTeamModels('team-a', { other: { modelId: 'o' } }, undefined)).toBe(false);
          expect((await backend().readTeamModels('team-a'))?.models).toEqual(MODELS);
        },
        options.timeout,
      );

      it(
        'replaces the whole map at the current version, and refuses a stale one',
        async () => {
          await backend().writeTeamModels('team-a', MODELS, undefined);
          const first = (await backend().readTeamModels('team-a'))!;
          const next = { only: { modelId: 'only-1' } };
          expect(await backend().writeTeamModels('team-a', next, first.version)).toBe(true);
          const second = (await backend().readTeamModels('team-a'))!;
          expect(second.models).toEqual(next);
          expect(await backend().writeTeamModels('team-a', MODELS, first.version)).toBe(false);
          expect((await backend().readTeamModels('team-a'))?.models).toEqual(next);
          expect(await backend().writeTeamModels('team-a', MODELS, second.version)).toBe(true);
        },
        options.timeout,
      );

      it(
        'refuses a version on a team that has no additions',
        async () => {
          await backend().writeTeamModels('team-a', MODELS, undefined);
          const version = (await backend().readTeamModels('team-a'))!.version;
          expect(await backend().writeTeamModels('team-b', MODELS, version)).toBe(false);
          expect(await backend().readTeamModels('team-b')).toBeUndefined();
        },
        options.timeout,
      );

      it(
        'lets exactly one of concurrent writers at the same version win',
        async () => {
          await backend().writeTeamModels('team-a', {}, undefined);
          const { version } = (await backend().readTeamModels('team-a'))!;
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              backend().writeTeamModels('team-a', { [`m${i}`]: { modelId: `m-${i}` } }, version),
            ),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          const winner = results.indexOf(true);
          expect((await backend().readTeamModels('team-a'))?.models).toEqual({
            [`m${winner}`]: { modelId: `m-${winner}` },
          });
        },
        options.timeout,
      );

      it(
        'keeps teams apart',
        async () => {
          await backend().writeTeamModels('team-a', { a: { modelId: 'a' } }, undefined);
          await backend().writeTeamModels('team-b', { b: { modelId: 'b' } }, undefined);
          expect((await backend().readTeamModels('team-a'))?.models).toEqual({ a: { modelId: 'a' } });
          expect((await backend().readTeamModels('team-b'))?.models).toEqual({ b: { modelId: 'b' } });
        },
        options.timeout,
      );

      it(
        'round-trips large maps and awkward names and values',
        async () => {
          const large: ModelMap = {};
          for (let i = 0; i < 2000; i++)
            large[`model-${i}`] = { modelId: `id-${i}`, tokens: i, params: { nested: { list: [i, `${i}`] } } };
          large['quotes "and" {braces}/slashes ünïcødé'] = { modelId: 'odd', label: 'line\nbreak', features: [] };
          expect(await backend().writeTeamModels('team-a', large, undefined)).toBe(true);
          expect((await backend().readTeamModels('team-a'))?.models).toEqual(large);
        },
        options.timeout,
      );
    });

    describe('service policy', () => {
      it(
        'lets everyone read the global list',
        async () => {
          const global = await backend().readModels();
          const { service } = serviceOver();
          for (const candidate of [AccessCandidate.public(), agent('a1'), AccessCandidate.user('nobody')]) {
            const seen = await service.requester(candidate).getModels();
            for (const name of Object.keys(global)) expect(seen).toHaveProperty([name]);
          }
          expect(await service.hasAccess(AccessCandidate.public(), 'read', 'models')).toBe(true);
          expect(await service.hasAccess(agent('b1'), 'write', 'models')).toBe(false);
        },
        options.timeout,
      );

      it(
        'keeps models added by a team inside that team (W10)',
        async () => {
          const { service } = serviceOver();
          await service.agent('a1').addModels({ 'contract-mine': { modelId: 'm-1', provider: 'Groq', tokens: 10 } });
          expect(await service.agent('a2').getModelInfo('contract-mine')).toMatchObject({
            modelId: 'm-1',
            provider: 'Groq',
          });
          expect(await service.team('team-a').getModelInfo('contract-mine')).toMatchObject({ modelId: 'm-1' });
          expect(await service.agent('b1').getModelInfo('contract-mine')).toEqual({ modelId: 'contract-mine' });
          expect(await service.requester(AccessCandidate.public()).getModels()).not.toHaveProperty(['contract-mine']);
          expect(await backend().readTeamModels('team-b')).toBeUndefined();
          expect(await service.hasAccess(agent('b1'), 'read', 'teams/team-a/models')).toBe(false);
          expect(await service.hasAccess(agent('b1'), 'write', 'teams/team-a/models')).toBe(false);
          expect(await service.hasAccess(agent('a2'), 'write', 'teams/team-a/models')).toBe(true);
        },
        options.timeout,
      );

      it(
        "lets a team's additions stand in for a global entry of the same name, for that team only",
        async () => {
          const global = await backend().readModels();
          const { service } = serviceOver();
          const name = Object.keys(global)[0] ?? 'contract-base';
          await service.agent('a1').addModels({ [name]: { modelId: 'team-a-version' } });
          expect(await service.agent('a1').getModelId(name)).toBe('team-a-version');
          expect(await service.agent('b1').getModelId(name)).not.toBe('team-a-version');
        },
        options.timeout,
      );

      it(
        'denies additions to candidates without a valid team and changes nothing',
        async () => {
          const { service } = serviceOver();
          for (const candidate of [AccessCandidate.public(), AccessCandidate.user('nobody'), agent('bad1')])
            await expect(service.requester(candidate).addModels({ x: { modelId: 'x' } })).rejects.toBeInstanceOf(
              SreAccessDeniedError,
            );
          // a resolver answer that breaks the id grammar is no team: nothing is read or written under it
          expect(await backend().readTeamModels('../evil')).toBeUndefined();
          expect(await service.agent('bad1').getModels()).not.toHaveProperty(['x']);
        },
        options.timeout,
      );

      it(
        'rejects invalid entries before anything is written (W41)',
        async () => {
          const { service } = serviceOver();
          await expect(
            service.agent('a1').addModels({ bad: { provider: 'x' }, good: { modelId: 'g' } }),
          ).rejects.toThrow("invalid model entries (need a string modelId, provider a string): 'bad'");
          await expect(service.agent('a1').addModels({ p: { modelId: 'p', provider: 3 as never } })).rejects.toThrow(
            SreInvalidInputError,
          );
          await expect(service.agent('a1').addModels({ '': { modelId: 'e' } })).rejects.toThrow("''");
          await expect(service.agent('a1').addModels([] as never)).rejects.toThrow('models must be an object');
          await expect(service.agent('a1').addModels(null as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          expect(await backend().readTeamModels('team-a')).toBeUndefined();
        },
        options.timeout,
      );

      it(
        'merges additions by name and loses none to concurrent writers',
        async () => {
          const { service } = serviceOver();
          await service.agent('a1').addModels({ keep: { modelId: 'k' }, replace: { modelId: 'old' } });
          await service.agent('a2').addModels({ replace: { modelId: 'new' } });
          // more writers in lockstep than one round can take: each round one wins, the others retry
          const names = Array.from({ length: MAX_WRITE_ATTEMPTS }, (_, i) => `c${i}`);
          await Promise.all(
            names.map((name, i) => service.agent(i % 2 ? 'a1' : 'a2').addModels({ [name]: { modelId: name } })),
          );
          const added = (await backend().readTeamModels('team-a'))!.models;
          expect(Object.keys(added).sort()).toEqual([...names, 'keep', 'replace'].sort());
          expect(added.replace).toEqual({ modelId: 'new' });
        },
        options.timeout,
      );

      it(
        'says so when the additions keep changing under the write',
        async () => {
          const { service } = serviceOver({ writeTeamModels: () => false });
          await expect(service.agent('a1').addModels({ x: { modelId: 'x' } })).rejects.toThrow('kept changing');
        },
        options.timeout,
      );

      it(
        'resolves aliases, applies key options only with a key, and keeps unknown names',
        async () => {
          const { service } = serviceOver();
          await service.agent('a1').addModels(MODELS);
          const models = service.agent('a1');
          expect(await models.getModelInfo('contract-smyth')).toMatchObject({
            modelId: 'contract-base-1',
            provider: 'OpenAI',
            tokens: 4000,
            completionTokens: 1000,
          });
          expect(await models.getModelInfo('contract-smyth', true)).toMatchObject({
            modelId: 'contract-base-1',
            tokens: 100_000,
            completionTokens: 8000,
          });
          expect(await models.getModelInfo('contract-unknown')).toEqual({ modelId: 'contract-unknown' });
          expect(await models.getModelInfo({ modelId: 'direct', provider: 'Groq' })).toEqual({
            modelId: 'direct',
            provider: 'Groq',
          });
          await expect(models.getModelInfo({ provider: 'Groq' })).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(models.getModelInfo('')).rejects.toBeInstanceOf(SreInvalidInputError);
          expect(await models.getModelId('constructor')).toBe('constructor');
        },
        options.timeout,
      );

      it(
        'answers the token rules of the original',
        async () => {
          const { service } = serviceOver();
          await service.agent('a1').addModels(MODELS);
          const models = service.agent('a1');
          expect(await models.getMaxContextTokens('contract-no-limits')).toBe(1024);
          expect(await models.getMaxCompletionTokens('contract-no-limits')).toBe(512);
          expect(await models.getMaxCompletionTokens('contract-base')).toBe(16_384);
          expect(await models.getMaxCompletionTokens('contract-smyth', true)).toBe(8000);
          expect(await models.adjustMaxCompletionTokens('contract-base', 50_000)).toBe(16_384);
          expect(await models.adjustMaxCompletionTokens('contract-base', 0)).toBe(512);
          expect(await models.getProvider('contract-legacy')).toBe('Anthropic');
          expect(await models.getModelId('contract-smyth')).toBe('contract-base-1');
          expect(await models.isStandardLLM('contract-base')).toBe(true);
          await expect(
            models.validateTokensLimit({ model: 'contract-smyth', promptTokens: 3500, completionTokens: 1000 }),
          ).rejects.toThrow('max tokens limit of 4000');
          await expect(
            models.validateTokensLimit({
              model: 'contract-smyth',
              promptTokens: 3500,
              completionTokens: 1000,
              hasAPIKey: true,
            }),
          ).resolves.toBeUndefined();
          await expect(
            models.validateTokensLimit({
              model: 'contract-smyth',
              promptTokens: 99_000,
              completionTokens: 2000,
              hasAPIKey: true,
            }),
          ).rejects.toThrow("This model's maximum context length is 100000 tokens");
          await expect(
            models.validateTokensLimit({ model: 'contract-legacy', promptTokens: 5000, completionTokens: 1 }),
          ).resolves.toBeUndefined();
        },
        options.timeout,
      );

      it(
        "adds the team's custom models from its Account settings, for that team only",
        async () => {
          const { service } = serviceOver();
          const models = service.agent('a1');
          expect(Object.keys(await models.getCustomModels()).sort()).toEqual(['contract-bedrock', 'contract-ollama']);
          const defaults = backend().customModelDefaults?.('contract.foundation-1');
          expect(await models.getModelInfo('contract-bedrock')).toMatchObject({
            modelId: 'contract.foundation-1',
            provider: 'Bedrock',
            features: ['text', 'tools'],
            tags: ['Enterprise', 'x'],
            tokens: defaults?.tokens ?? 100_000,
            credentials: 'bedrock_vault',
            isCustomLLM: true,
          });
          expect(await models.isStandardLLM('contract-bedrock')).toBe(false);
          expect(await models.isUserCustomLLM('contract-ollama')).toBe(true);
          expect(await models.getBaseURL('contract-ollama')).toBe('http://localhost:11434');
          expect(await models.getMaxContextTokens('contract-ollama')).toBe(4096);
          expect(await service.agent('b1').getCustomModels()).toEqual({});
          expect(await service.requester(AccessCandidate.public()).getModels()).not.toHaveProperty(['contract-ollama']);
        },
        options.timeout,
      );

      it(
        'skips a malformed setting and fails on an Account outage',
        async () => {
          const global = await backend().readModels();
          const { service } = serviceOver();
          expect(Object.keys(await service.agent('b1').getModels()).sort()).toEqual(Object.keys(global).sort());
          expect(warnings).toEqual([
            `team setting '${ENTERPRISE_MODELS_SETTING}' is not a JSON object; its models are ignored`,
          ]);
          await expect(service.agent('c1').getModels()).rejects.toThrow('account store down');
        },
        options.timeout,
      );

      it(
        'reads the models once per requester, retries a failed read and hands out copies',
        async () => {
          let fail = true;
          const { view, service } = serviceOver();
          const models = service.agent('a1');
          const all = await models.getModels();
          await models.getModelInfo('contract-base');
          await models.getMaxCompletionTokens('contract-base');
          expect(view.reads).toBe(1);
          for (const entry of Object.values(all)) entry.tokens = -1;
          const again = await models.getModels();
          for (const entry of Object.values(again)) expect(entry.tokens).not.toBe(-1);
          await service.agent('a1').getModels();
          expect(view.reads).toBe(2);
          const flaky = serviceOver({
            readModels: () => {
              if (fail) {
                fail = false;
                throw new Error('disk on fire');
              }
              return backend().readModels();
            },
          }).service.agent('a1');
          await expect(flaky.getModels()).rejects.toThrow('disk on fire');
          await expect(flaky.getModels()).resolves.toBeDefined();
        },
        options.timeout,
      );

      it(
        'wraps backend failures as errors naming the subsystem and connector, and refuses work once closed',
        async () => {
          const { service } = serviceOver({
            readTeamModels: () => {
              throw new Error('team store down');
            },
          });
          const error = await service
            .agent('a1')
            .getModels()
            .catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error).toMatchObject({ subsystem: 'ModelsProvider', connector: label });
          const closing = serviceOver().service;
          await closing.disconnect();
          await expect(closing.agent('a1').getModels()).rejects.toThrow(/shut/);
        },
        options.timeout,
      );
    });
  });
}
