import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { createConnectorContext } from '../../core/backend';
import { SreConfigError } from '../../core/errors';
import { describeAgentDataBackend, type AgentDataSeed } from '../../testing/agent-data.contract';
import { AgentDataModule } from '../agent-data.module';
import { AgentDataService } from '../agent-data.service';
import { LocalAgentDataConnector, LocalAgentDataSettings } from './local-agent-data.connector';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sre-local-agents-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The seed as agent files: `dev/<id>.smyth`, `prod/<id>@<version>.smyth`. */
function writeAgents(seed: AgentDataSeed): { devDir: string; prodDir: string } {
  const root = tempDir();
  const devDir = path.join(root, 'dev');
  const prodDir = path.join(root, 'prod');
  fs.mkdirSync(devDir);
  fs.mkdirSync(prodDir);
  for (const [id, agent] of Object.entries(seed.agents)) {
    const extra = {
      ...(agent.team ? { teamId: agent.team } : {}),
      ...(agent.domains ? { domains: agent.domains } : {}),
      ...(agent.embodiments ? { embodiments: agent.embodiments } : {}),
    };
    fs.writeFileSync(path.join(devDir, `${id}.smyth`), JSON.stringify({ ...agent.data, ...extra }));
    for (const [version, data] of Object.entries(agent.deployed ?? {}))
      fs.writeFileSync(path.join(prodDir, `${id}@${version}.smyth`), JSON.stringify({ ...data, ...extra, version }));
  }
  return { devDir, prodDir };
}

const warnings: string[] = [];
function make(settings: Partial<LocalAgentDataSettings>): LocalAgentDataConnector {
  const context = createConnectorContext({ subsystem: 'AgentData', connector: 'Local' });
  jest.spyOn(context.logger, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  return new LocalAgentDataConnector(Object.assign(new LocalAgentDataSettings(), settings), context);
}

async function until(check: () => boolean | Promise<boolean>, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for the change');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeAgentDataBackend('Local', (seed) => make({ ...writeAgents(seed), watch: false }));

describe('Local', () => {
  const open: LocalAgentDataConnector[] = [];
  const connect = async (connector: LocalAgentDataConnector): Promise<LocalAgentDataConnector> => {
    open.push(connector);
    await connector.connect();
    return connector;
  };
  beforeEach(() => (warnings.length = 0));
  afterEach(async () => {
    for (const connector of open.splice(0)) await connector.disconnect();
  });

  it('skips a malformed agent file with one warning and serves the others (W50)', async () => {
    const devDir = tempDir();
    fs.writeFileSync(path.join(devDir, 'good.smyth'), JSON.stringify({ id: 'good', name: 'Good', components: [] }));
    fs.writeFileSync(path.join(devDir, 'broken.smyth'), '{"id": "broken", "name": "SECRET-CONTENT"');
    fs.writeFileSync(path.join(devDir, 'array.smyth'), '[1, 2]');
    fs.writeFileSync(path.join(devDir, 'notes.txt'), 'not an agent');
    const agents = await connect(make({ devDir, watch: false }));
    expect((await agents.getAgentData('good'))?.data.name).toBe('Good');
    await expect(agents.getAgentData('broken')).resolves.toBeUndefined();
    expect(warnings.filter((w) => w.includes('broken.smyth'))).toEqual([
      `skipping agent file ${path.join(devDir, 'broken.smyth')}: not valid JSON`,
    ]);
    expect(warnings.some((w) => w.includes('array.smyth') && w.includes('not a JSON object'))).toBe(true);
    expect(warnings.join('\n')).not.toContain('SECRET-CONTENT');
    await agents.rescan();
    expect(warnings.filter((w) => w.includes('broken.smyth'))).toHaveLength(1);
  });

  it('names an agent without an id after its file, and accepts .json files', async () => {
    const devDir = tempDir();
    fs.writeFileSync(path.join(devDir, 'no-id.smyth'), JSON.stringify({ name: 'Anonymous' }));
    fs.writeFileSync(path.join(devDir, 'plain.json'), JSON.stringify({ id: 'from-json', name: 'Json' }));
    const agents = await connect(make({ devDir, watch: false }));
    expect((await agents.getAgentData('no-id'))?.data.name).toBe('Anonymous');
    expect((await agents.getAgentData('from-json'))?.version).toBe('1.0');
  });

  it('finds files added later on a miss, without watching', async () => {
    const devDir = tempDir();
    const agents = await connect(make({ devDir, watch: false }));
    await expect(agents.getAgentData('late')).resolves.toBeUndefined();
    fs.writeFileSync(path.join(devDir, 'late.smyth'), JSON.stringify({ id: 'late', name: 'Late' }));
    expect((await agents.getAgentData('late'))?.data.name).toBe('Late');
  });

  it('picks up changed and removed files when watching, the sync config too', async () => {
    const devDir = tempDir();
    const prodDir = tempDir();
    const file = path.join(devDir, 'a.smyth');
    fs.writeFileSync(file, JSON.stringify({ id: 'a', settings: { mode: 'one' } }));
    const agents = await connect(make({ devDir, prodDir, debounceMs: 20 }));
    expect(agents.getAgentConfig('a')).toEqual({ mode: 'one' });
    fs.writeFileSync(file, JSON.stringify({ id: 'a', settings: { mode: 'two' } }));
    await until(() => agents.getAgentConfig('a')?.mode === 'two');
    fs.writeFileSync(path.join(prodDir, 'a.smyth'), JSON.stringify({ id: 'a', version: '3.0' }));
    await until(() => agents.isDeployed('a'));
    fs.rmSync(file);
    await until(() => agents.getAgentConfig('a') === undefined);
    await expect(agents.getAgentData('a')).resolves.toBeUndefined();
    await expect(agents.getAgentData('a', 'latest')).resolves.toMatchObject({ version: '3.0' });
  });

  it('orders deployed versions numerically for latest, and keeps the first of two files for one id', async () => {
    const prodDir = tempDir();
    for (const version of ['1.9', '1.10', '1.2'])
      fs.writeFileSync(path.join(prodDir, `x-${version}.smyth`), JSON.stringify({ id: 'x', version }));
    fs.writeFileSync(path.join(prodDir, 'x-dup.smyth'), JSON.stringify({ id: 'x', version: '1.2', name: 'dup' }));
    const agents = await connect(make({ prodDir, watch: false }));
    await expect(agents.getAgentData('x', 'latest')).resolves.toMatchObject({ version: '1.10' });
    expect((await agents.getAgentData('x', '1.2'))?.data.name).toBeUndefined();
    expect(warnings.some((w) => w.includes('x-dup.smyth') && w.includes("deploys agent 'x' version 1.2"))).toBe(true);
  });

  it('fails the connect without a directory, or with one that does not exist', async () => {
    await expect(make({}).connect()).rejects.toThrow(/set devDir and\/or prodDir/);
    const missing = path.join(tempDir(), 'missing');
    await expect(make({ devDir: missing }).connect()).rejects.toBeInstanceOf(SreConfigError);
  });

  it('boots by name through AgentDataModule', async () => {
    const { devDir, prodDir } = writeAgents({ agents: { solo: { data: { id: 'solo', name: 'Solo' } } } });
    const moduleRef = await Test.createTestingModule({
      imports: [AgentDataModule.forRoot({ connector: 'Local', settings: { devDir, prodDir, watch: false } })],
    }).compile();
    await moduleRef.init();
    const agents = moduleRef.get(AgentDataService);
    expect((await agents.getAgentData('solo'))?.data.name).toBe('Solo');
    await moduleRef.close();
  });
});
