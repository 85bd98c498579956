import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SreConfigError } from '../../core/errors';
import { describeAgentDataBackend } from '../../testing/agent-data.contract';
import { AGENT_DATA_CONNECTORS } from '../agent-data.module';
import { CLIAgentDataConnector, CLIAgentDataSettings, cliArg } from './cli-agent-data.connector';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-cli-agent-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const make = (args: string[]) => new CLIAgentDataConnector(Object.assign(new CLIAgentDataSettings(), { args }));

describeAgentDataBackend('CLI', () => make([]), { empty: true });

describe('CLI', () => {
  const file = path.join(dir, 'weather.smyth');
  fs.writeFileSync(
    file,
    JSON.stringify({
      id: 'agent-cli',
      name: 'Weather',
      version: '2.0',
      teamId: 'team-a',
      settings: { agentStageDomain: 'weather.local' },
      embodiments: [{ type: 'chat' }],
      components: [],
    }),
  );

  it('reads the agent named by --agent, relative to the working directory', async () => {
    expect(AGENT_DATA_CONNECTORS.get('CLI')).toBe(CLIAgentDataConnector);
    const agents = make(['run', '--agent', path.relative(process.cwd(), file)]);
    await agents.connect();
    expect(agents.agentId).toBe('agent-cli');
    expect(agents.getAgentData('agent-cli')).toEqual({
      data: expect.objectContaining({ name: 'Weather' }),
      version: '2.0',
    });
    expect(agents.getAgentData('agent-cli', '2.0')?.version).toBe('2.0');
    expect(agents.getAgentData('other')).toBeUndefined();
    expect(agents.getAgentSettings('agent-cli')).toEqual({ agentStageDomain: 'weather.local' });
    expect(agents.getAgentConfig('agent-cli')).toEqual({ agentStageDomain: 'weather.local' });
    expect(agents.getAgentIdByDomain('weather.local')).toBe('agent-cli');
    expect(agents.isDeployed('agent-cli')).toBe(true);
    expect(agents.isDeployed('other')).toBe(false);
    expect(agents.getAgentEmbodiments('agent-cli')).toEqual([{ type: 'chat' }]);
    expect(agents.listTeamAgents('team-a', true, false)).toEqual([
      { id: 'agent-cli', name: 'Weather', deployed: true },
    ]);
    expect(agents.listTeamAgents('team-b', false, false)).toEqual([]);
  });

  it('takes --settings inline or from a file', async () => {
    const inline = make([`--agent=${file}`, '--settings', '{"mode":"cli"}']);
    await inline.connect();
    expect(inline.getAgentSettings('agent-cli')).toEqual({ mode: 'cli' });
    const settingsFile = path.join(dir, 'settings.json');
    fs.writeFileSync(settingsFile, '{"mode":"file"}');
    const fromFile = make(['--agent', file, `--settings=${settingsFile}`]);
    await fromFile.connect();
    expect(fromFile.getAgentConfig('agent-cli')).toEqual({ mode: 'file' });
  });

  it('fails the connect for a missing or invalid agent or settings, saying which', async () => {
    const bad = path.join(dir, 'bad.smyth');
    fs.writeFileSync(bad, '{ nope');
    for (const [args, expected] of [
      [['--agent', path.join(dir, 'missing.smyth')], /--agent .*missing\.smyth does not exist/],
      [['--agent', bad], /bad\.smyth: not valid JSON/],
      [['--agent', file, '--settings', '{ nope'], /--settings \(inline\): not valid JSON/],
      [['--agent', file, '--settings', path.join(dir, 'none.json')], /--settings .*none\.json does not exist/],
    ] as const) {
      const error = await make([...args])
        .connect()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SreConfigError);
      expect((error as Error).message).toMatch(expected);
    }
  });

  it('parses --name value and --name=value, the last one winning', () => {
    expect(cliArg(['--agent', 'a', '--agent=b'], 'agent')).toBe('b');
    expect(cliArg(['--agentx', 'a'], 'agent')).toBeUndefined();
    expect(cliArg(['--agent'], 'agent')).toBeUndefined();
  });
});
