import { SreNotFoundError } from '../core/errors';
import { describeSubsystemModule } from '../testing/subsystem-module.testkit';
import { InjectAgentData } from './agent-data.decorators';
import { AgentDataModule } from './agent-data.module';
import { AGENT_DATA_DEFINITION } from './agent-data.registry';
import { AgentDataService, AgentDefinition } from './agent-data.service';

const AGENT: AgentDefinition = {
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
        { name: 'where', type: 'object', optional: true },
      ],
    },
    {
      name: 'APIEndpoint',
      data: { endpoint: 'upload', ai_exposed: false, doc: 'Upload a map' },
      inputs: [
        { name: 'file', type: 'Binary' },
        { name: 'count', type: 'integer', optional: true, defaultVal: 1 },
      ],
    },
    { name: 'APIEndpoint', data: { endpoint: 'ping', method: 'post' }, inputs: [] },
    { name: 'LLMPrompt', data: { endpoint: 'not-an-endpoint' } },
  ],
};

/** Development and deployed agents from maps. */
class MapAgentData extends AgentDataService {
  private readonly dev = new Map([[AGENT.id!, AGENT]]);
  private readonly prod = new Map<string, AgentDefinition>([[AGENT.id!, { ...AGENT, name: 'Weather (deployed)' }]]);

  async getAgentData(agentId: string, version?: string) {
    const data = (version ? this.prod : this.dev).get(agentId);
    return data && { data, version: version ?? '1.0' };
  }

  async getAgentSettings(agentId: string) {
    return this.dev.get(agentId)?.settings ?? {};
  }

  async getAgentIdByDomain(domain: string) {
    return [...this.dev.values()].find((agent) => agent.settings?.agentStageDomain === domain)?.id;
  }

  async getAgentEmbodiments() {
    return [];
  }

  async isDeployed(agentId: string) {
    return this.prod.has(agentId);
  }

  async listTeamAgents() {
    return [...this.dev.values()].map((agent) => ({ id: agent.id, name: agent.name }));
  }

  getAgentConfig(agentId: string) {
    return this.dev.get(agentId)?.settings;
  }
}

describe('AgentDataModule', () => {
  const { useConnector } = describeSubsystemModule(AGENT_DATA_DEFINITION, AgentDataModule, InjectAgentData, {
    connector: MapAgentData,
    planned: ['Local', 'CLI', 'NullAgentData'],
    unknownName: 'Remote',
  });

  describe('built by the module', () => {
    const agents = useConnector();

    it('serves agent data', async () => {
      expect(await agents().getAgentIdByDomain('weather.local')).toBe('agent-1');
    });
  });

  describe('getOpenAPIJSON', () => {
    const agents = new MapAgentData();

    it('describes GET endpoints with query parameters and POST endpoints with a body', async () => {
      const doc = await agents.getOpenAPIJSON('agent-1', 'https://weather.local');
      expect(doc.info).toEqual({ title: 'Weather "Pro"', description: 'Tells the weather', version: '2.1' });
      expect(doc.servers).toEqual([{ url: 'https://weather.local' }]);
      expect(Object.keys(doc.paths)).toEqual(['/api/forecast', '/api/upload', '/api/ping']);
      expect(doc.paths['/api/forecast'].get).toMatchObject({
        summary: 'Forecast for a city',
        operationId: 'forecast',
        parameters: [
          { name: 'city', in: 'query', description: 'City name', required: true, schema: { type: 'string' } },
          {
            name: 'days',
            in: 'query',
            required: false,
            schema: { type: 'array', items: {} },
            style: 'form',
            explode: false,
          },
          {
            name: 'where',
            in: 'query',
            required: false,
            schema: { type: 'object', additionalProperties: {} },
            style: 'deepObject',
            explode: true,
          },
        ],
      });
      expect(doc.paths['/api/forecast'].get.requestBody).toBeUndefined();
      expect(doc.paths['/api/upload'].post.requestBody).toEqual({
        required: true,
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              properties: { file: { type: 'string', format: 'binary' }, count: { type: 'integer', default: 1 } },
              required: ['file'],
            },
          },
        },
      });
      expect(doc.paths['/api/ping'].post.requestBody).toBeUndefined();
      expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    });

    it('serves the AI view and versioned paths', async () => {
      const doc = await agents.getOpenAPIJSON('agent-1', 'https://weather.local', '2.1', true);
      expect(doc.info).toMatchObject({ title: 'Weather (deployed)', description: 'You are a weather bot' });
      expect(Object.keys(doc.paths)).toEqual(['/v2.1/api/forecast', '/v2.1/api/ping']);
      expect(doc.paths['/v2.1/api/forecast'].get.summary).toBe('AI: forecast');
      const fromObject = await agents.getOpenAPIJSON(
        { data: { ...AGENT, components: [AGENT.components![1]] }, version: '1.0' },
        'http://x',
        'latest',
      );
      expect(Object.keys(fromObject.paths)).toEqual(['/api/upload']);
      expect(fromObject.paths['/api/upload'].post.requestBody).toMatchObject({
        content: { 'multipart/form-data': {} },
      });
    });

    it('throws for an unknown agent id', async () => {
      await expect(agents.getOpenAPIJSON('nobody', 'http://x')).rejects.toBeInstanceOf(SreNotFoundError);
    });
  });

  it('keeps ephemeral data per connector instance', async () => {
    const one = new MapAgentData();
    const two = new MapAgentData();
    await one.setEphemeralAgentData('sdk-agent', { name: 'built in code' });
    expect(await one.getEphemeralAgentData('sdk-agent')).toEqual({ name: 'built in code' });
    expect(await two.getEphemeralAgentData('sdk-agent')).toBeUndefined();
  });
});
