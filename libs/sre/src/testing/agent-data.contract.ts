import type { AgentDataBackend, AgentDefinition } from '../agent-data/agent-data.backend';
import { AgentDataService } from '../agent-data/agent-data.service';
import { createConnectorContext } from '../core/backend';
import { SreBackendError, SreInvalidInputError, SreNotFoundError, SreUnavailableError } from '../core/errors';
import { useFreshBackend } from './contract-harness';

/** One agent of the fixture a backend under the contract serves. */
export interface AgentDataFixtureAgent {
  /** The development copy. */
  data: AgentDefinition;
  team?: string;
  /** Deployed copies by version, oldest first (`latest` is the last one). */
  deployed?: Record<string, AgentDefinition>;
  domains?: string[];
  embodiments?: unknown[];
}

const WEATHER: AgentDefinition = {
  id: 'agent-1',
  name: 'Weather "Pro"',
  shortDescription: 'Tells the weather',
  behavior: 'You are a weather bot',
  version: '2.1',
  settings: { agentStageDomain: 'weather.local' },
  components: [
    {
      name: 'APIEndpoint',
      data: { endpoint: 'forecast', method: 'GET', doc: 'Forecast for a city', description: 'AI: forecast' },
      inputs: [
        { name: 'city', type: 'String', description: 'City name' },
        { name: 'days', type: 'Array', optional: true },
      ],
    },
    {
      name: 'APIEndpoint',
      data: { endpoint: 'upload', ai_exposed: false, doc: 'Upload a map' },
      inputs: [{ name: 'file', type: 'Binary' }],
    },
    { name: 'LLMPrompt', data: { endpoint: 'not-an-endpoint' } },
  ],
};

const ODD_NAME = 'Odd {"agent"} ünïcødé\n\\ end';

/**
 * The agents a backend under `describeAgentDataBackend` serves (unless `empty`): the suite hands
 * them to the factory, which writes them as files, rows or API fixtures. `agent-1` is deployed
 * twice and listed by `team-a`; `agent-2` is development only, with awkward text and many components.
 */
export const AGENT_DATA_FIXTURE: Readonly<Record<string, AgentDataFixtureAgent>> = Object.freeze({
  'agent-1': {
    data: WEATHER,
    team: 'team-a',
    deployed: {
      '1.0': { ...WEATHER, version: '1.0', name: 'Weather (first)', settings: { agentStageDomain: 'weather.local' } },
      '2.1': { ...WEATHER, name: 'Weather (deployed)', settings: { agentStageDomain: 'weather.local', mode: 'prod' } },
    },
    domains: ['weather.example.com'],
    embodiments: [{ type: 'chat', properties: { title: 'Weather' } }],
  },
  'agent-2': {
    data: {
      id: 'agent-2',
      name: ODD_NAME,
      version: '1.0',
      settings: {},
      components: Array.from({ length: 500 }, (_, i) => ({
        name: 'APIEndpoint',
        data: { endpoint: `e${i}`, method: 'post', doc: `"quoted" {${i}}` },
        inputs: [{ name: `in${i}`, type: 'Integer', defaultVal: i }],
      })),
    },
    team: 'team-a',
  },
  'agent-3': {
    data: { id: 'agent-3', name: 'Other team', settings: { agentStageDomain: 'other.local' } },
    team: 'team-b',
  },
});

/** What the suite hands the factory: the agents the backend must serve. */
export interface AgentDataSeed {
  agents: Readonly<Record<string, AgentDataFixtureAgent>>;
}

export interface AgentDataContractOptions {
  /** The backend serves no agent (a null connector): every lookup must miss. */
  empty?: boolean;
  /** Per-test timeout in milliseconds (default Jest's). */
  timeout?: number;
}

type Calls = { name: string; args: unknown[] }[];

/** The backend without its lifecycle (the suite connects and closes it), every call recorded. */
function viewOf(backend: AgentDataBackend, calls: Calls, overrides: Partial<AgentDataBackend> = {}): AgentDataBackend {
  const record =
    <A extends unknown[], R>(name: string, operation: (...args: A) => R) =>
    (...args: A): R => {
      calls.push({ name, args });
      return operation(...args);
    };
  return {
    getAgentData: record('getAgentData', (id: string, version?: string) => backend.getAgentData(id, version)),
    getAgentSettings: record('getAgentSettings', (id: string, version?: string) =>
      backend.getAgentSettings(id, version),
    ),
    getAgentIdByDomain: record('getAgentIdByDomain', (domain: string) => backend.getAgentIdByDomain(domain)),
    getAgentEmbodiments: record('getAgentEmbodiments', (id: string) => backend.getAgentEmbodiments(id)),
    isDeployed: record('isDeployed', (id: string) => backend.isDeployed(id)),
    listTeamAgents: record('listTeamAgents', (team: string, deployedOnly: boolean, includeData: boolean) =>
      backend.listTeamAgents(team, deployedOnly, includeData),
    ),
    getAgentConfig: record('getAgentConfig', (id: string) => backend.getAgentConfig(id)),
    ...overrides,
  };
}

const idsOf = (agents: Record<string, unknown>[]) => agents.map((agent) => agent.id).sort();

/**
 * The contract of an AgentData backend, then the service's policy over it: run it from every
 * connector's spec, e.g. `describeAgentDataBackend('Local', async (seed) => new
 * LocalAgentDataConnector({ folder: await writeAgents(seed.agents) }, ctx))`. AgentData is
 * read-only, so the factory gets the agents to serve (`AGENT_DATA_FIXTURE`; a backend that serves
 * none ignores them and runs with `empty`). Each test gets a fresh backend, connected, and
 * disconnected after.
 */
export function describeAgentDataBackend(
  label: string,
  makeBackend: (seed: AgentDataSeed) => AgentDataBackend | Promise<AgentDataBackend>,
  options: AgentDataContractOptions = {},
): void {
  const { timeout, empty = false } = options;

  describe(`${label} (AgentData backend contract)`, () => {
    let calls: Calls;
    beforeEach(() => {
      calls = [];
    });
    const { backend } = useFreshBackend(() => makeBackend({ agents: AGENT_DATA_FIXTURE }), { timeout });
    const context = createConnectorContext({ subsystem: 'AgentData', connector: label });
    const serviceOver = (overrides?: Partial<AgentDataBackend>) =>
      new AgentDataService(viewOf(backend(), calls, overrides), context);

    describe('backend operations', () => {
      it(
        'misses unknown agents, versions, domains and teams without throwing',
        async () => {
          expect(await backend().getAgentData('nobody')).toBeUndefined();
          expect(await backend().getAgentData('nobody', '1.0')).toBeUndefined();
          expect((await backend().getAgentSettings('nobody')) ?? {}).toEqual({});
          expect(await backend().getAgentIdByDomain('nowhere.local')).toBeUndefined();
          expect(await backend().getAgentEmbodiments('nobody')).toEqual([]);
          expect(await backend().isDeployed('nobody')).toBe(false);
          expect(await backend().listTeamAgents('team-none', false, false)).toEqual([]);
          expect(backend().getAgentConfig('nobody')).toBeUndefined();
          if (!empty) expect(await backend().getAgentData('agent-1', '9.9')).toBeUndefined();
        },
        timeout,
      );

      if (empty) {
        it(
          'serves no agent at all',
          async () => {
            for (const id of Object.keys(AGENT_DATA_FIXTURE)) {
              expect(await backend().getAgentData(id)).toBeUndefined();
              expect(await backend().isDeployed(id)).toBe(false);
            }
            expect(await backend().listTeamAgents('team-a', false, true)).toEqual([]);
            expect(await backend().getAgentIdByDomain('weather.local')).toBeUndefined();
          },
          timeout,
        );
        return;
      }

      it(
        'reads the development copy, a deployed version and the latest one',
        async () => {
          const dev = await backend().getAgentData('agent-1');
          expect(dev?.data).toMatchObject({ id: 'agent-1', name: 'Weather "Pro"', behavior: 'You are a weather bot' });
          expect(dev?.data.components).toHaveLength(3);
          expect(typeof dev?.version).toBe('string');
          expect(await backend().getAgentData('agent-1', '1.0')).toMatchObject({
            data: { name: 'Weather (first)' },
            version: '1.0',
          });
          expect(await backend().getAgentData('agent-1', '2.1')).toMatchObject({
            data: { name: 'Weather (deployed)' },
            version: '2.1',
          });
          expect((await backend().getAgentData('agent-1', 'latest'))?.data.name).toBe('Weather (deployed)');
        },
        timeout,
      );

      it(
        'reads the settings of the copy asked for',
        async () => {
          expect(await backend().getAgentSettings('agent-1')).toEqual({ agentStageDomain: 'weather.local' });
          expect(await backend().getAgentSettings('agent-1', '2.1')).toEqual({
            agentStageDomain: 'weather.local',
            mode: 'prod',
          });
          expect((await backend().getAgentSettings('agent-2')) ?? {}).toEqual({});
        },
        timeout,
      );

      it(
        'finds agents by domain, deployment and embodiments',
        async () => {
          expect(await backend().getAgentIdByDomain('weather.local')).toBe('agent-1');
          expect(await backend().getAgentIdByDomain('weather.example.com')).toBe('agent-1');
          expect(await backend().getAgentIdByDomain('other.local')).toBe('agent-3');
          expect(await backend().isDeployed('agent-1')).toBe(true);
          expect(await backend().isDeployed('agent-2')).toBe(false);
          expect(await backend().getAgentEmbodiments('agent-1')).toEqual([
            { type: 'chat', properties: { title: 'Weather' } },
          ]);
          expect(await backend().getAgentEmbodiments('agent-2')).toEqual([]);
        },
        timeout,
      );

      it(
        "lists a team's agents only, deployed ones on request, with their data on request",
        async () => {
          expect(idsOf(await backend().listTeamAgents('team-a', false, false))).toEqual(['agent-1', 'agent-2']);
          expect(idsOf(await backend().listTeamAgents('team-b', false, false))).toEqual(['agent-3']);
          expect(idsOf(await backend().listTeamAgents('team-a', true, false))).toEqual(['agent-1']);
          const withData = await backend().listTeamAgents('team-a', false, true);
          const weather = withData.find((agent) => agent.id === 'agent-1');
          expect(weather?.data).toMatchObject({ name: 'Weather "Pro"' });
          const summary = (await backend().listTeamAgents('team-a', false, false)).find(
            (agent) => agent.id === 'agent-1',
          );
          expect(summary?.name).toBe('Weather "Pro"');
          expect(summary).not.toHaveProperty('data');
        },
        timeout,
      );

      it(
        'answers the configuration synchronously',
        () => {
          const config = backend().getAgentConfig('agent-1');
          expect(config).not.toBeInstanceOf(Promise);
          expect(config).toMatchObject({ agentStageDomain: 'weather.local' });
        },
        timeout,
      );

      it(
        'round-trips awkward text and large definitions, under concurrent reads',
        async () => {
          const reads = await Promise.all(Array.from({ length: 20 }, () => backend().getAgentData('agent-2')));
          for (const read of reads) {
            expect(read?.data.name).toBe(ODD_NAME);
            expect(read?.data.components).toHaveLength(500);
            expect(read?.data.components?.[499]).toEqual(AGENT_DATA_FIXTURE['agent-2'].data.components![499]);
          }
        },
        timeout,
      );
    });

    describe('service policy', () => {
      it(
        'validates ids before any backend sees them',
        async () => {
          const agents = serviceOver();
          for (const bad of ['', 'a\u0000b', 3 as never, undefined as never]) {
            await expect(agents.getAgentData(bad)).rejects.toBeInstanceOf(SreInvalidInputError);
            await expect(agents.getAgentSettings(bad)).rejects.toBeInstanceOf(SreInvalidInputError);
            await expect(agents.getAgentEmbodiments(bad)).rejects.toBeInstanceOf(SreInvalidInputError);
            await expect(agents.isDeployed(bad)).rejects.toBeInstanceOf(SreInvalidInputError);
            await expect(agents.getAgentIdByDomain(bad)).rejects.toBeInstanceOf(SreInvalidInputError);
            await expect(agents.setEphemeralAgentData(bad, {})).rejects.toBeInstanceOf(SreInvalidInputError);
            expect(() => agents.getAgentConfig(bad)).toThrow(SreInvalidInputError);
          }
          await expect(agents.getAgentData('agent-1', '')).rejects.toThrow('invalid agent version');
          for (const team of ['../team-a', 'team a', '', 7 as never])
            await expect(agents.listTeamAgents(team)).rejects.toThrow(
              "invalid team id: use letters, digits and '-' only",
            );
          expect(calls).toEqual([]);
        },
        timeout,
      );

      it(
        'hands the backend what the caller asked, and lists deployed agents and data only when asked',
        async () => {
          const agents = serviceOver();
          await agents.listTeamAgents('team-a');
          await agents.listTeamAgents('team-a', true, true);
          await agents.getAgentData('agent-1', '2.1');
          expect(calls).toEqual([
            { name: 'listTeamAgents', args: ['team-a', false, false] },
            { name: 'listTeamAgents', args: ['team-a', true, true] },
            { name: 'getAgentData', args: ['agent-1', '2.1'] },
          ]);
        },
        timeout,
      );

      it(
        'turns missing answers into undefined, {} and []',
        async () => {
          const agents = serviceOver({
            getAgentData: () => null as never,
            getAgentSettings: () => undefined,
            getAgentIdByDomain: () => '' as never,
            getAgentEmbodiments: () => null as never,
            isDeployed: () => 'yes' as never,
            listTeamAgents: () => undefined as never,
            getAgentConfig: () => 'x' as never,
          });
          expect(await agents.getAgentData('agent-1')).toBeUndefined();
          expect(await agents.getAgentSettings('agent-1')).toEqual({});
          expect(await agents.getAgentIdByDomain('weather.local')).toBeUndefined();
          expect(await agents.getAgentEmbodiments('agent-1')).toEqual([]);
          expect(await agents.isDeployed('agent-1')).toBe(false);
          expect(await agents.listTeamAgents('team-a')).toEqual([]);
          expect(agents.getAgentConfig('agent-1')).toBeUndefined();
        },
        timeout,
      );

      it(
        "describes an agent's endpoints from its id, or says it is not found",
        async () => {
          const agents = serviceOver();
          if (empty) {
            await expect(agents.getOpenAPIJSON('agent-1', 'https://x')).rejects.toBeInstanceOf(SreNotFoundError);
            return;
          }
          const doc = await agents.getOpenAPIJSON('agent-1', 'https://weather.local');
          expect(doc.info).toEqual({ title: 'Weather "Pro"', description: 'Tells the weather', version: '2.1' });
          expect(Object.keys(doc.paths)).toEqual(['/api/forecast', '/api/upload']);
          const deployed = await agents.getOpenAPIJSON('agent-1', 'https://weather.local', '2.1', true);
          expect(deployed.info.title).toBe('Weather (deployed)');
          expect(Object.keys(deployed.paths)).toEqual(['/v2.1/api/forecast']);
          const odd = await agents.getOpenAPIJSON('agent-2', 'http://x');
          expect(Object.keys(odd.paths)).toHaveLength(500);
          expect(JSON.parse(JSON.stringify(odd))).toEqual(odd);
          await expect(agents.getOpenAPIJSON('nobody', 'http://x')).rejects.toBeInstanceOf(SreNotFoundError);
        },
        timeout,
      );

      it(
        'refuses an OpenAPI source that is neither an id nor a definition',
        async () => {
          const agents = serviceOver();
          await expect(agents.getOpenAPIJSON(42 as never, 'http://x')).rejects.toThrow(
            'the OpenAPI source must be an agent id or an agent definition',
          );
          await expect(agents.getOpenAPIJSON({ name: 'x' }, 3 as never)).rejects.toBeInstanceOf(SreInvalidInputError);
        },
        timeout,
      );

      it(
        'keeps ephemeral data per service instance, in this process',
        async () => {
          const one = serviceOver();
          const two = serviceOver();
          await one.setEphemeralAgentData('sdk-agent', { name: 'built in code' });
          expect(await one.getEphemeralAgentData('sdk-agent')).toEqual({ name: 'built in code' });
          expect(await two.getEphemeralAgentData('sdk-agent')).toBeUndefined();
          expect(calls).toEqual([]);
        },
        timeout,
      );

      it(
        'wraps backend failures as errors naming the subsystem and connector',
        async () => {
          const agents = serviceOver({
            getAgentData: () => Promise.reject(new Error('disk on fire')),
            getAgentConfig: () => {
              throw new Error('index gone');
            },
          });
          const error = await agents.getAgentData('agent-1').catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(SreBackendError);
          expect(error).toMatchObject({ subsystem: 'AgentData', connector: label });
          expect((error as Error).message).toContain('disk on fire');
          expect(() => agents.getAgentConfig('agent-1')).toThrow(SreBackendError);
        },
        timeout,
      );

      it(
        'answers the configuration synchronously once connected, and refuses work once closed',
        async () => {
          const agents = serviceOver();
          // not connected yet: a synchronous answer cannot wait, so it says so and starts connecting
          expect(() => agents.getAgentConfig('agent-1')).toThrow(SreUnavailableError);
          await agents.connect();
          expect(agents.getAgentConfig('agent-1')).toEqual(empty ? undefined : { agentStageDomain: 'weather.local' });
          await agents.disconnect();
          await expect(agents.getAgentData('agent-1')).rejects.toThrow(/shut/);
          expect(() => agents.getAgentConfig('agent-1')).toThrow(/shut/);
        },
        timeout,
      );
    });
  });
}
